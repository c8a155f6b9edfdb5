import ArgumentParser
import VMCtlCore

struct SnapshotDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a snapshot (its children move up to its parent), or with --children the whole subtree.")

    @OptionGroup var vm: VMName
    @Argument(help: "The snapshot's name.") var snapshot: String
    @Flag(help: "Delete the snapshot's children (and theirs) too.") var children = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let snapshots = Snapshots(session: try connection.session(), notice: Output.notice)
        let deleted = try snapshots.delete(vm: vm.name, name: snapshot, children: children)
        Output.line("deleted snapshot\(deleted.count == 1 ? "" : "s") \(deleted.map { "'\($0)'" }.joined(separator: ", ")) of \(vm.name)")
    }
}

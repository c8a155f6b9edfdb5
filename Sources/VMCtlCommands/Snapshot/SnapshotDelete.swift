import ArgumentParser
import VMCtlCore

struct SnapshotDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a snapshot (its children move up to its parent), or with --children the whole subtree.")

    @OptionGroup var vm: VMName
    @Argument(help: "The snapshot's name.") var snapshot: String?
    @Flag(help: "Delete the snapshot's children (and theirs) too.") var children = false
    @Option(help: ArgumentHelp("Delete it from every VM of the lab in these files instead (then give only the snapshot's name).", valueName: "path"))
    var lab: [String] = []
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { _ = try LabSnapshot.name(vm: vm.name, snapshot: snapshot, lab: lab) }

    func run() throws {
        if !lab.isEmpty { return try LabSnapshot.run(.delete, name: vm.name, paths: lab, connection: connection) }
        guard let snapshot else { throw ValidationError("give the VM's name and the snapshot's name") }
        let snapshots = Snapshots(session: try connection.session(), notice: Output.notice)
        let deleted = try snapshots.delete(vm: vm.name, name: snapshot, children: children)
        Output.line("deleted snapshot\(deleted.count == 1 ? "" : "s") \(deleted.map { "'\($0)'" }.joined(separator: ", ")) of \(vm.name)")
    }
}

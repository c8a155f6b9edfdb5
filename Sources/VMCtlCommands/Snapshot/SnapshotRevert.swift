import ArgumentParser
import VMCtlCore

struct SnapshotRevert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revert",
        abstract: "Put a VM back to a snapshot: one with RAM resumes the guest running, a disk snapshot leaves it stopped.")

    @OptionGroup var vm: VMName
    @Argument(help: "The snapshot's name.") var snapshot: String
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let snapshots = Snapshots(session: try connection.session(), notice: Output.notice)
        let info = try snapshots.revert(vm: vm.name, name: snapshot)
        Output.line("reverted \(vm.name) to snapshot '\(info.name)' (\(info.includesMemory ? info.state : "shut off"))")
    }
}

import ArgumentParser
import VMCtlCore

struct SnapshotRevert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revert",
        abstract: "Put a VM back to a snapshot: one with RAM resumes the guest running, a disk snapshot leaves it stopped.")

    @OptionGroup var vm: VMName
    @Argument(help: "The snapshot's name.") var snapshot: String?
    @Option(help: ArgumentHelp("Revert every VM of the lab in these files instead (then give only the snapshot's name).", valueName: "path"))
    var lab: [String] = []
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { _ = try LabSnapshot.name(vm: vm.name, snapshot: snapshot, lab: lab) }

    func run() throws {
        if !lab.isEmpty { return try LabSnapshot.run(.revert, name: vm.name, paths: lab, connection: connection) }
        guard let snapshot else { throw ValidationError("give the VM's name and the snapshot's name") }
        let snapshots = Snapshots(session: try connection.session(), notice: Output.notice)
        let info = try snapshots.revert(vm: vm.name, name: snapshot)
        Output.line("reverted \(vm.name) to snapshot '\(info.name)' (\(info.includesMemory ? info.state : "shut off"))")
    }
}

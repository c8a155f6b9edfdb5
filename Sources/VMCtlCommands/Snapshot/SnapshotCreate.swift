import ArgumentParser
import VMCtlCore

struct SnapshotCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Snapshot a VM: with its RAM when it runs, its disks when it is stopped.",
        discussion: """
            vmctl makes an internal snapshot (kept inside the qcow2 disks) and says so. With --disk-only on a \
            running VM it makes an external one (each disk continues in a new overlay file), which libvirt \
            before 9.9 cannot revert. Read-only disks such as the NoCloud seed are left out.
            """)

    @OptionGroup var vm: VMName
    @Argument(help: "The snapshot's name (letters, digits, '-').") var snapshot: String?
    @Option(help: ArgumentHelp("Snapshot every VM of the lab in these files instead (then give only the snapshot's name).", valueName: "path"))
    var lab: [String] = []
    @Option(help: "A description kept with the snapshot.") var description: String?
    @Flag(help: "Leave the RAM out (on a running VM this makes an external snapshot).") var diskOnly = false
    @OptionGroup var output: OutputOptions
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { try ResourceName.validate(try LabSnapshot.name(vm: vm.name, snapshot: snapshot, lab: lab), kind: "snapshot") }

    func run() throws {
        if !lab.isEmpty { return try LabSnapshot.run(.create, name: vm.name, paths: lab, connection: connection) }
        guard let snapshot else { throw ValidationError("give the VM's name and the snapshot's name") }
        let snapshots = Snapshots(session: try connection.session(), notice: Output.notice)
        let info = try naming(.diskOnly, { $0.advising("use --disk-only on the running VM, or delete them first") }) {
            try naming(.withoutDiskOnly, { $0.advising("leave out --disk-only (RAM included), or stop the VM first") }) {
                try snapshots.create(vm: vm.name, name: snapshot, description: description, diskOnly: diskOnly)
            }
        }
        if output.json { return try Output.json(info) }
        Output.line(SnapshotText.created(info))
    }
}

enum SnapshotText {
    /// `created internal snapshot 'before' of web (RAM and disks: vda; left out: vdb)`.
    static func created(_ info: SnapshotInfo) -> String {
        var line = "created \(info.kind.rawValue) snapshot '\(info.name)' of \(info.vm) ("
        line += (info.includesMemory ? "RAM and disks: " : "disks only: ") + info.disks.joined(separator: ", ")
        if !info.excludedDisks.isEmpty { line += "; left out: " + info.excludedDisks.joined(separator: ", ") }
        line += ")"
        if !info.revertible { line += "; this libvirt cannot revert external snapshots (libvirt 9.9 can)" }
        return line
    }

    static func contents(_ info: SnapshotInfo) -> String {
        info.includesMemory ? "ram+disk" : "disk"
    }
}

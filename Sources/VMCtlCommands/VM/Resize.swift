import ArgumentParser
import VMCtlCore

struct Resize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Change a VM's vCPUs, memory or disk size; live when the guest allows it.",
        discussion: """
            vCPUs and memory change live up to the ceilings the VM was defined with (see vmctl info); beyond \
            them the definition changes and the VM needs a restart (--restart does it). Disks only grow: live \
            on a running VM, on the volume otherwise.
            """)

    @OptionGroup var vm: VMName
    @Option(help: "Number of vCPUs.") var cpus: Int?
    @Option(help: "Memory, e.g. 1G.") var memory: String?
    @Option(help: "Disk size, e.g. 8G (grow only).") var disk: String?
    @Option(help: "Take vCPUs, memory and (growing only) disk from a flavor.") var flavor: String?
    @Flag(help: "Restart the VM if a change needs it.") var restart = false
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func request() throws -> ResizeRequest {
        let request = ResizeRequest(
            cpus: cpus, memory: try memory.map { try ByteSize(parsing: $0) }, disk: try disk.map { try ByteSize(parsing: $0) },
            flavor: flavor)
        if let flavor { _ = try VMCtlCore.Flavor.named(flavor) }
        if request.cpus == nil, request.memory == nil, request.disk == nil, request.flavor == nil {
            throw ValidationError("nothing to resize: give --cpus, --memory, --disk or --flavor")
        }
        return request
    }

    func validate() throws { _ = try request() }

    func run() throws {
        let changes = try VMs(session: connection.session()).resize(vm.name, try request(), restart: restart)
        if output.json { return try Output.json(changes) }
        if changes.isEmpty { return Output.line("\(vm.name) already has those sizes") }
        let notes: [ResizeChange.Effect: String] = [
            .live: "live", .offline: "applied; seen at next boot", .restartNeeded: "restart needed (vmctl resize --restart, or stop and start)",
        ]
        for change in changes {
            Output.line("\(vm.name): \(change.resource) \(change.from) -> \(change.to) (\(notes[change.effect] ?? ""))")
        }
    }
}

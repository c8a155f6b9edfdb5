import ArgumentParser
import VMCtlCore

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a VM's configuration and state.")

    @OptionGroup var vm: VMName
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let details = try VMs(session: connection.session()).details(vm.name)
        if output.json { return try Output.json(details) }
        let rows: [(String, String)] = [
            ("Name", details.name), ("UUID", details.uuid), ("State", details.state),
            ("vCPUs", "\(details.cpus) (up to \(details.maxCPUs) live)"),
            ("Memory", "\(details.memory) (up to \(details.maxMemory) live)"),
            ("Accelerator", details.accelerator), ("Image", details.image ?? "-"), ("Flavor", details.flavor ?? "-"),
            ("Instance ID", details.instanceID ?? "-"), ("Created", details.created ?? "-"),
            ("Network", details.network ?? "-"), ("MAC", details.mac ?? "-"),
            ("Addresses", details.addresses.isEmpty ? "-" : details.addresses.map(\.description).joined(separator: ", ")),
            ("Serial log", details.serialLog ?? "-"),
        ] + details.disks.map { ("Disk \($0.target)", "\($0.volume) \($0.capacity) (\($0.allocation) used)\($0.readOnly ? " read-only" : "")") }
        Output.table(header: ["FIELD", "VALUE"], rows: rows.map { [$0.0, $0.1] })
    }
}

import ArgumentParser
import VMCtlCore

struct IP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ip",
        abstract: "Print a VM's IPv4 address (from its DHCP lease, else the host's ARP table).")

    @OptionGroup var vm: VMName
    @Option(help: ArgumentHelp("Wait up to this many seconds until the guest answers on its address.", valueName: "seconds"))
    var wait: String?
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let wait { _ = try seconds(wait, for: "--wait") }
    }

    func run() throws {
        let address = try naming(.wait, { $0.reworded("\($0.description) (use --wait SECONDS)") }) {
            try VMs(session: connection.session()).address(of: vm.name, wait: try wait.map { try seconds($0, for: "--wait") })
        }
        if output.json { return try Output.json(["name": vm.name, "address": address.description]) }
        Output.line(address.description)
    }
}

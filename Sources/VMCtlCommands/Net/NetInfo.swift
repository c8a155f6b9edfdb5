import ArgumentParser
import VMCtlCore

struct NetInfo: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show a network.")

    @OptionGroup var network: NetworkName
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let info = try Networks(session: connection.session()).info(network.name)
        if output.json { return try Output.json(info) }
        Output.table(header: ["FIELD", "VALUE"], rows: [
            ["Name", info.name], ["Mode", info.mode], ["Subnet", info.subnet ?? "-"], ["Gateway", info.gateway ?? "-"],
            ["DHCP", info.dhcp ?? "-"], ["Bridge", info.bridge ?? "-"], ["State", info.active ? "active" : "inactive"],
            ["Autostart", info.autostart ? "yes" : "no"], ["VMs", info.vms.isEmpty ? "-" : info.vms.joined(separator: ", ")],
            ["Pinned", info.pinned.isEmpty ? "-" : info.pinned.joined(separator: ", ")],
        ])
    }
}

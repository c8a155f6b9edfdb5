import ArgumentParser
import VMCtlCore

struct NetList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List networks.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let networks = try Networks(session: connection.session()).list()
        if output.json { return try Output.json(networks) }
        Output.table(header: ["NAME", "MODE", "SUBNET", "BRIDGE", "STATE", "VMS"], rows: networks.map {
            [$0.name, $0.mode, $0.subnet ?? "-", $0.bridge ?? "-", $0.active ? "active" : "inactive", String($0.vms.count)]
        })
    }
}

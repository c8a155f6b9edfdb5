import ArgumentParser
import VMCtlCore

struct ForwardList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List port forwards.")

    @Argument(help: "Only this VM's forwards.") var vm: String?
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let forwards = try PortForwards(session: connection.session()).list(vm: vm)
        if output.json { return try Output.json(forwards) }
        Output.table(header: ["VM", "NAME", "PROTO", "HOST", "GUEST"], rows: forwards.map {
            [$0.vm, $0.name, $0.proto.rawValue, "\($0.hostAddress?.description ?? "*"):\($0.hostPort)", "\($0.guestAddress):\($0.guestPort)"]
        })
    }
}

import ArgumentParser
import VMCtlCore

struct RouterAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Join a network to a router.")
    @Argument(help: "The router.") var router: String
    @Argument(help: "The network.") var network: String
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try Routers(session: connection.session()).add(router, network: network)
        Output.line("router \(router) joins \(network)")
    }
}

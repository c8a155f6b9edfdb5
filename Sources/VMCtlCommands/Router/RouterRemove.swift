import ArgumentParser
import VMCtlCore

struct RouterRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Take a network off a router.")
    @Argument(help: "The router.") var router: String
    @Argument(help: "The network.") var network: String
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try Routers(session: connection.session()).remove(router, network: network)
        Output.line("router \(router) no longer joins \(network)")
    }
}

import ArgumentParser
import VMCtlCore

struct RouterDelete: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a router (its networks no longer reach each other).")
    @Argument(help: "The router's name.") var name: String
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try Routers(session: connection.session()).delete(name)
        Output.line("deleted router \(name)")
    }
}

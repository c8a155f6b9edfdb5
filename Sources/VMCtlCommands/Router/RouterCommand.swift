import ArgumentParser
import VMCtlCore

struct RouterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "router",
        abstract: "Routers join networks: their guests reach each other; without one they do not.",
        subcommands: [RouterCreate.self, RouterList.self, RouterDelete.self, RouterAdd.self, RouterRemove.self])
}

struct RouterCreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a router.")
    @Argument(help: "The router's name.") var name: String
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { try ResourceName.validate(name, kind: "router") }

    func run() throws {
        _ = try Routers(session: connection.session()).create(name)
        Output.line("created router \(name)")
    }
}

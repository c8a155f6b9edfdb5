import ArgumentParser
import VMCtlCore

struct RouterList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List routers and the networks they join.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let routers = try Routers(session: connection.session()).list()
        if output.json { return try Output.json(routers) }
        Output.table(header: ["NAME", "NETWORKS"], rows: routers.map { [$0.name, $0.networks.joined(separator: ", ")] })
    }
}

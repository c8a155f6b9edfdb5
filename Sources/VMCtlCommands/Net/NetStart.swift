import ArgumentParser
import VMCtlCore

struct NetStart: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a network.")

    @OptionGroup var network: NetworkName
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try Networks(session: connection.session()).start(network.name)
        Output.line("started network \(network.name)")
    }
}

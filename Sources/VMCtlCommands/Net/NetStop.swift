import ArgumentParser
import VMCtlCore

struct NetStop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop a network (its VMs lose connectivity until it starts again).")

    @OptionGroup var network: NetworkName
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try Networks(session: connection.session()).stop(network.name)
        Output.line("stopped network \(network.name)")
    }
}

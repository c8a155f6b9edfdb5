import ArgumentParser
import VMCtlCore

struct NetDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a network (refused while VMs are attached, unless --force).")

    @OptionGroup var network: NetworkName
    @Flag(help: "Delete even with VMs attached (they cannot start until attached elsewhere).") var force = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try naming(.force, { $0.advising("delete them or use --force") }) {
            try Networks(session: connection.session()).delete(network.name, force: force)
        }
        Output.line("deleted network \(network.name)")
    }
}

import ArgumentParser
import VMCtlCore

struct FloatingIPPoolDelete: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a pool with no allocated addresses.")

    @Argument(help: "The pool's name.") var name: String
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try FloatingIPs(session: connection.session()).deletePool(name: name)
        Output.line("deleted pool \(name)")
    }
}

import ArgumentParser
import VMCtlCore

struct FloatingIPRelease: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "release", abstract: "Give an address back to its pool.")

    @Argument(help: "The floating address.") var address: String
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try FloatingIPs(session: connection.session()).release(try IPv4Address(parsing: address, what: "floating IP"))
        Output.line("released \(address)")
    }
}

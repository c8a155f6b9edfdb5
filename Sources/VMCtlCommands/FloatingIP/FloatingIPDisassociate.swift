import ArgumentParser
import VMCtlCore

struct FloatingIPDisassociate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disassociate", abstract: "Detach a floating address from its VM.")

    @Argument(help: "The floating address.") var address: String
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try FloatingIPs(session: connection.session()).disassociate(try IPv4Address(parsing: address, what: "floating IP"))
        Output.line("\(address) disassociated")
    }
}

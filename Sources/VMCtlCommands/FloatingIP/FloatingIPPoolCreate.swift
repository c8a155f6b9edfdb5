import ArgumentParser
import VMCtlCore

struct FloatingIPPoolCreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a floating IP pool.")

    @Argument(help: "The pool's name.") var name: String
    @Option(help: "Host interface the addresses live on.") var interface: String
    @Option(help: ArgumentHelp("Addresses, FIRST-LAST.", valueName: "range")) var range: String
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try ResourceName.validate(name, kind: "pool")
        try InterfaceName.validate(interface, kind: "interface")
        _ = try IPv4Range(parsing: range, what: "address range")
    }

    func run() throws {
        let pool = try FloatingIPs(session: connection.session()).createPool(name: name, interface: interface, range: IPv4Range(parsing: range, what: "address range"))
        if output.json { return try Output.json(pool) }
        Output.line("created pool \(pool.name) (\(pool.range) on \(pool.interface))")
    }
}

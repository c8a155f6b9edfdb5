import ArgumentParser
import VMCtlCore

struct FloatingIPAllocate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "allocate", abstract: "Allocate an address from a pool.")

    @Argument(help: "The pool.") var pool: String
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let address = try FloatingIPs(session: connection.session()).allocate(pool: pool)
        if output.json { return try Output.json(["address": address.description, "pool": pool]) }
        Output.line(address.description)
    }
}

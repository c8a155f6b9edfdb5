import ArgumentParser
import VMCtlCore

struct FloatingIPPoolList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List floating IP pools.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let pools = try FloatingIPs(session: connection.session()).pools()
        if output.json { return try Output.json(pools) }
        Output.table(header: ["NAME", "INTERFACE", "RANGE", "ALLOCATED"], rows: pools.map {
            [$0.name, $0.interface, $0.range.description, "\($0.allocations.count)/\($0.range.count)"]
        })
    }
}

import ArgumentParser
import VMCtlCore

struct FloatingIPList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List allocated floating addresses.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let entries = try FloatingIPs(session: connection.session()).list()
        if output.json { return try Output.json(entries) }
        Output.table(header: ["ADDRESS", "POOL", "VM"], rows: entries.map { [$0.address.description, $0.pool, $0.vm ?? "-"] })
    }
}

import ArgumentParser
import VMCtlCore

struct SecurityGroupList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List security groups.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let groups = try SecurityGroups(session: connection.session()).list()
        if output.json { return try Output.json(groups) }
        Output.table(header: ["NAME", "RULES"], rows: groups.map { [$0.name, String($0.rules.count)] })
    }
}

import ArgumentParser
import VMCtlCore

struct SecurityGroupRuleList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List a group's rules.")

    @Argument(help: "The group.") var group: String
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let rules = try SecurityGroups(session: connection.session()).group(group).rules
        if output.json { return try Output.json(rules) }
        Output.table(header: ["ID", "PROTO", "PORTS", "FROM"], rows: rules.map { rule in
            let ports = rule.ports.map(\.description) ?? "any"
            let from: String
            switch rule.remote {
            case .cidr(let subnet): from = subnet.description
            case .group(let name): from = "group \(name)"
            case nil: from = "anywhere"
            }
            return [rule.id, rule.proto.rawValue, ports, from]
        })
    }
}

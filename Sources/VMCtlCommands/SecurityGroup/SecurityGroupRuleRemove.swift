import ArgumentParser
import VMCtlCore

struct SecurityGroupRuleRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a rule by id.")

    @Argument(help: "The group.") var group: String
    @Argument(help: "The rule's id (see vmctl secgroup rule list).") var id: String
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try SecurityGroups(session: connection.session()).removeRule(from: group, id: id)
        Output.line("removed rule \(id) from \(group)")
    }
}

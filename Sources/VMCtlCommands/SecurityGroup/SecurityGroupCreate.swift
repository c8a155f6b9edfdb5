import ArgumentParser
import VMCtlCore

struct SecurityGroupCreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create an empty security group.")

    @Argument(help: "The group's name.") var name: String
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { try ResourceName.validate(name, kind: "security group") }

    func run() throws {
        _ = try SecurityGroups(session: connection.session()).create(name)
        Output.line("created security group \(name)")
    }
}

import ArgumentParser
import VMCtlCore

struct SecurityGroupDelete: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a security group no VM is in.")

    @Argument(help: "The group's name.") var name: String
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try SecurityGroups(session: connection.session()).delete(name)
        Output.line("deleted security group \(name)")
    }
}

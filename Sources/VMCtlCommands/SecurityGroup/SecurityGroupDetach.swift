import ArgumentParser
import VMCtlCore

struct SecurityGroupDetach: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detach", abstract: "Take a VM out of a security group.")

    @OptionGroup var vm: VMName
    @Argument(help: "The group.") var group: String
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try SecurityGroups(session: connection.session()).detach(vm: vm.name, group: group)
        Output.line("\(vm.name) left security group \(group)")
    }
}

import ArgumentParser
import VMCtlCore

struct SecurityGroupAttach: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "attach", abstract: "Put a VM in a security group.")

    @OptionGroup var vm: VMName
    @Argument(help: "The group.") var group: String
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try SecurityGroups(session: connection.session()).attach(vm: vm.name, group: group)
        Output.line("\(vm.name) is in security group \(group)")
    }
}

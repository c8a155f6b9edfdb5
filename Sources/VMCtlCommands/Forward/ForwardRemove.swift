import ArgumentParser
import VMCtlCore

struct ForwardRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a port forward.")

    @OptionGroup var vm: VMName
    @Argument(help: "The forward's name (see vmctl forward list).") var name: String
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try PortForwards(session: connection.session()).remove(vm: vm.name, name: name)
        Output.line("removed forward \(name) of \(vm.name)")
    }
}

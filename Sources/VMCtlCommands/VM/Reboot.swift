import ArgumentParser
import VMCtlCore

struct Reboot: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Ask a running VM's guest to reboot.")

    @OptionGroup var vm: VMName
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try VMs(session: connection.session()).reboot(vm.name)
        Output.line("rebooting \(vm.name)")
    }
}

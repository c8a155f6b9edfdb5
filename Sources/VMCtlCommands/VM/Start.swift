import ArgumentParser
import VMCtlCore

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Boot a VM.")

    @OptionGroup var vm: VMName
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try VMs(session: connection.session(), notice: Output.notice).start(vm.name)
        Output.line("started \(vm.name)")
    }
}

import ArgumentParser
import VMCtlCore

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete a VM (stopping it first), its disks and its DHCP lease.")

    @OptionGroup var vm: VMName
    @Flag(name: .customLong("keep-disks"), help: "Keep the VM's volumes in the pool.") var keepDisks = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try VMs(session: connection.session()).delete(vm.name, keepDisks: keepDisks)
        Output.line("deleted \(vm.name)")
    }
}

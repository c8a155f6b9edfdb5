import ArgumentParser
import VMCtlCore

struct FloatingIPAssociate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "associate", abstract: "Make a floating address stand for a VM (DNAT in, SNAT out).")

    @Argument(help: "The floating address.") var address: String
    @OptionGroup var vm: VMName
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try FloatingIPs(session: connection.session()).associate(try IPv4Address(parsing: address, what: "floating IP"), vm: vm.name)
        Output.line("\(address) now stands for \(vm.name)")
    }
}

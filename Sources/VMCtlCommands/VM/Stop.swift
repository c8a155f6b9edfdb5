import ArgumentParser
import VMCtlCore

struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Power a VM off: ACPI shutdown, waiting for the guest; --force pulls the plug.")

    @OptionGroup var vm: VMName
    @Flag(help: "Power off at once, without asking the guest.") var force = false
    @Option(help: ArgumentHelp("Seconds to wait for the guest to power off.", valueName: "seconds")) var timeout = "60"
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard try seconds(timeout, for: "--timeout") > 0 else { throw ValidationError("--timeout must be more than 0 seconds") }
    }

    func run() throws {
        try naming(.force, { $0.advising("use --force to pull the plug") }) {
            try VMs(session: connection.session()).stop(vm.name, force: force, timeout: try seconds(timeout, for: "--timeout"))
        }
        Output.line("stopped \(vm.name)")
    }
}

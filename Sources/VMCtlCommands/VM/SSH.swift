import ArgumentParser
import Foundation
import VMCtlCore

struct SSH: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open an SSH session to a VM with vmctl's key, or run a command there.",
        usage: "vmctl ssh NAME [-- COMMAND ...]")

    @OptionGroup var vm: VMName
    @Option(help: "User to log in as.") var user: String = "root"
    @Option(help: ArgumentHelp("Seconds to wait for the guest to answer first.", valueName: "seconds"))
    var wait = "60"
    @OptionGroup var connection: ConnectionOptions
    @Argument(parsing: .postTerminator, help: "Command to run in the guest.") var command: [String] = []

    func validate() throws {
        _ = try seconds(wait, for: "--wait")
        guard user.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }), !user.isEmpty else {
            throw ValidationError("invalid --user '\(user)'")
        }
    }

    func run() throws {
        let session = try connection.session()
        let instances = VMs(session: session)
        let hostKeys = try SSHHostKeys().sshOptions(forVM: try instances.domain(named: vm.name).uuid)
        let address = try instances.address(of: vm.name, wait: try seconds(wait, for: "--wait"), listeningOn: 22)
        guard GuestReachability.isOnLink(address) else {
            throw VMCtlError(.unavailable, "\(vm.name)'s address \(address) is not on a network reachable from here; forward a port to it")
        }
        let key = SSHKeyStore()
        _ = try key.ensurePublicKey()
        let arguments = [
            "ssh", "-i", key.privateKeyPath,
        ] + hostKeys + [
            "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=10", "-o", "IdentitiesOnly=yes",
            "\(user)@\(address)",
        ] + (command.isEmpty ? [] : ["--"] + command)
        // Replace vmctl with ssh so the terminal, signals and the exit status are ssh's own.
        let argv = arguments.map { strdup($0) } + [nil]
        signal(SIGPIPE, SIG_DFL)
        execvp("ssh", argv)
        throw VMCtlError(.init(errno: errno), "cannot run ssh: \(String(cString: strerror(errno))) (install openssh-client)")
    }
}

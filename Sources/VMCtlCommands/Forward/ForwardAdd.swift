import ArgumentParser
import VMCtlCore

struct ForwardAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Forward a host port to a VM's port.",
        discussion: """
            --host-ip 127.0.0.1 makes the port reachable from the host only; an external address (or none: all) \
            makes it reachable from neighbours too. --rule takes VirtualBox's syntax: name,proto,hostip,hostport,guestip,guestport.
            """)

    @OptionGroup var vm: VMName
    @Option(name: .customLong("host-port"), help: "Port on the host.") var hostPort: Int?
    @Option(name: .customLong("guest-port"), help: "Port in the guest.") var guestPort: Int?
    @Option(help: "tcp or udp.") var proto: TransportProtocol = .tcp
    @Option(name: .customLong("host-ip"), help: "Host address to bind (default: all).") var hostIP: String?
    @Option(help: "Name of the forward (default: PROTO-HOSTPORT).") var name: String?
    @Option(help: "VirtualBox rule: name,proto,hostip,hostport,guestip,guestport.") var rule: String?
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func forwardRule() throws -> ForwardRule {
        if let rule {
            guard hostPort == nil, guestPort == nil, hostIP == nil, name == nil else {
                throw ValidationError("--rule replaces --host-port, --guest-port, --host-ip and --name")
            }
            let parsed = try ForwardRule(virtualBoxRule: rule)
            try ResourceName.validate(parsed.name, kind: "forward")
            return parsed
        }
        guard let hostPort, let guestPort else { throw ValidationError("give --host-port and --guest-port (or --rule)") }
        let host = try Port(parsing: String(hostPort), what: "host port").number
        let guest = try Port(parsing: String(guestPort), what: "guest port").number
        var address: IPv4Address?
        if let hostIP {
            guard let parsed = IPv4Address(hostIP) else { throw VMCtlError.invalid("invalid --host-ip '\(hostIP)'") }
            address = parsed
        }
        let forwardName = name ?? "\(proto.rawValue)-\(host)"
        try ResourceName.validate(forwardName, kind: "forward")
        return ForwardRule(name: forwardName, proto: proto, hostAddress: address, hostPort: host, guestPort: guest)
    }

    func validate() throws { _ = try forwardRule() }

    func run() throws {
        let forward = try PortForwards(session: connection.session()).add(vm: vm.name, rule: try forwardRule())
        if output.json { return try Output.json(forward) }
        Output.line("forwarding \(forward.proto.rawValue) \(forward.hostAddress?.description ?? "*"):\(forward.hostPort) -> \(forward.vm) \(forward.guestAddress):\(forward.guestPort) (\(forward.name))")
    }
}

extension TransportProtocol: ExpressibleByArgument {}

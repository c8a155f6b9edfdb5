import ArgumentParser
import VMCtlCore

struct NetCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a network (gateway defaults to the subnet's first address, DHCP to the rest).")

    @Argument(help: "The network's name.") var name: String
    @Option(help: "IPv4 subnet in CIDR form, e.g. 10.10.0.0/24.") var subnet: String
    @Option(help: "The host's address on the network.") var gateway: String?
    @Option(help: ArgumentHelp("DHCP pool, FIRST-LAST.", valueName: "range")) var dhcp: String?
    @Option(help: "nat: out through the host; routed: reachable directly; isolated: guests only.") var mode: NetworkMode = .nat
    @Option(help: "DNS domain the guests resolve each other in (default: the network's name).") var domain: String?
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func spec() throws -> NetworkSpec {
        try NetworkSpec(name: name, subnet: subnet, gateway: gateway, dhcp: dhcp, mode: mode, domain: domain)
    }

    func validate() throws { _ = try spec() }

    func run() throws {
        let summary = try Networks(session: connection.session()).create(try spec())
        if output.json { return try Output.json(summary) }
        Output.line("created network \(summary.name) (\(summary.mode), \(summary.subnet ?? "-"), bridge \(summary.bridge ?? "-"))")
    }
}

extension NetworkMode: ExpressibleByArgument {}

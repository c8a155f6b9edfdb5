import ArgumentParser
import VMCtlCore

struct SecurityGroupRuleAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Allow an ingress flow.")

    @Argument(help: "The group.") var group: String
    @Flag(help: "An ingress rule (the only kind: egress is always allowed).") var ingress = false
    @Option(help: "tcp, udp or icmp.") var proto: SecurityGroup.RuleProtocol
    @Option(help: "One port.") var port: Int?
    @Option(help: ArgumentHelp("A port range, A-B.", valueName: "range")) var ports: String?
    @Option(help: ArgumentHelp("Only from this CIDR.", valueName: "cidr")) var remote: String?
    @Option(name: .customLong("remote-group"), help: "Only from members of this group.") var remoteGroup: String?
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard ingress else { throw ValidationError("only --ingress rules exist (egress is always allowed)") }
        guard port == nil || ports == nil else { throw ValidationError("give --port or --ports, not both") }
        guard remote == nil || remoteGroup == nil else { throw ValidationError("give --remote or --remote-group, not both") }
    }

    func run() throws {
        let range = try (port.map(String.init) ?? ports).map(PortRange.init(parsing:))
        let source: SecurityGroup.Remote? = try remoteGroup.map { .group($0) }
            ?? remote.map { .cidr(try IPv4Subnet(networkCIDR: $0, what: "remote CIDR")) }
        let rule = try SecurityGroups(session: connection.session()).addRule(to: group, proto: proto, ports: range, remote: source)
        if output.json { return try Output.json(rule) }
        Output.line("added rule \(rule.id) to \(group)")
    }
}

/// OpenStack-style security groups: named sets of ingress rules; VMs are members of groups.
public struct SecurityGroups {
    let session: Session
    let store: ControlStore

    public init(session: Session) {
        self.session = session
        self.store = ControlStore(session: session)
    }

    public func create(_ name: String, lab: String? = nil) throws -> SecurityGroup {
        try ResourceName.validate(name, kind: "security group")
        return try store.update { state in
            if state.effectiveGroups.contains(where: { $0.name == name }) { throw VMCtlError.alreadyExists("security group", name) }
            var group = SecurityGroup(name: name, rules: [])
            group.lab = lab
            state.securityGroups.append(group)
            return group
        }
    }

    public func list() throws -> [SecurityGroup] { try store.load().effectiveGroups }

    public func group(_ name: String) throws -> SecurityGroup {
        let groups = try list()
        guard let group = groups.first(where: { $0.name == name }) else {
            throw VMCtlError.notFound("security group", name, known: groups.map(\.name))
        }
        return group
    }

    public func delete(_ name: String) throws {
        guard name != SecurityGroup.defaultName else { throw VMCtlError("the default security group cannot be deleted") }
        let members = try FirewallStateBuilder(session: session).gather().guests.filter { $0.groups.contains(name) }.map(\.vm)
        guard members.isEmpty else {
            throw VMCtlError("security group '\(name)' has members (\(members.joined(separator: ", "))); detach them first")
        }
        try store.update { state in
            guard state.securityGroups.contains(where: { $0.name == name }) else {
                throw VMCtlError.notFound("security group", name, known: state.effectiveGroups.map(\.name))
            }
            state.securityGroups.removeAll { $0.name == name }
        }
        _ = try Firewall(session: session).reconcile()
    }

    /// Parses and adds an ingress rule; returns it with its id.
    public func addRule(to name: String, proto: SecurityGroup.RuleProtocol, ports portText: String?,
                        remoteCIDR: String?, remoteGroup: String?) throws -> SecurityGroup.Rule {
        let ports = try Self.parsePorts(portText, proto: proto)
        if remoteCIDR != nil && remoteGroup != nil { throw VMCtlError("give --remote or --remote-group, not both") }
        var remote: SecurityGroup.Remote?
        if let remoteCIDR {
            guard let subnet = IPv4Subnet(remoteCIDR), IPv4Address(String(remoteCIDR.split(separator: "/")[0])) == subnet.network else {
                throw VMCtlError("invalid remote CIDR '\(ResourceName.printable(remoteCIDR))': use e.g. 198.51.100.0/24")
            }
            remote = .cidr(subnet)
        }
        let rule = try store.update { state -> SecurityGroup.Rule in
            var groups = state.effectiveGroups
            guard let index = groups.firstIndex(where: { $0.name == name }) else {
                throw VMCtlError.notFound("security group", name, known: groups.map(\.name))
            }
            if let remoteGroup {
                guard groups.contains(where: { $0.name == remoteGroup }) else { throw VMCtlError.notFound("security group", remoteGroup) }
                remote = .group(remoteGroup)
            }
            let id = Self.nextRuleID(in: groups[index])
            let rule = SecurityGroup.Rule(id: id, proto: proto, ports: ports, remote: remote)
            if groups[index].rules.contains(where: { $0.proto == rule.proto && $0.ports == rule.ports && $0.remote == rule.remote }) {
                throw VMCtlError("security group '\(name)' already has that rule")
            }
            groups[index].rules.append(rule)
            state.securityGroups = groups
            return rule
        }
        _ = try Firewall(session: session).reconcile()
        return rule
    }

    public func removeRule(from name: String, id: String) throws {
        try store.update { state in
            var groups = state.effectiveGroups
            guard let index = groups.firstIndex(where: { $0.name == name }) else { throw VMCtlError.notFound("security group", name) }
            guard groups[index].rules.contains(where: { $0.id == id }) else {
                throw VMCtlError.notFound("rule", id, known: groups[index].rules.map(\.id))
            }
            groups[index].rules.removeAll { $0.id == id }
            state.securityGroups = groups
        }
        _ = try Firewall(session: session).reconcile()
    }

    public func attach(vm: String, group: String) throws {
        _ = try self.group(group)
        try Instances(session: session).updateMetadata(of: vm) { metadata in
            guard !metadata.securityGroups.contains(group) else { throw VMCtlError("VM '\(vm)' is already in security group '\(group)'") }
            metadata.securityGroups.append(group)
        }
        _ = try Firewall(session: session).reconcile()
    }

    public func detach(vm: String, group: String) throws {
        try Instances(session: session).updateMetadata(of: vm) { metadata in
            guard metadata.securityGroups.contains(group) else { throw VMCtlError("VM '\(vm)' is not in security group '\(group)'") }
            metadata.securityGroups.removeAll { $0 == group }
        }
        _ = try Firewall(session: session).reconcile()
    }

    static func nextRuleID(in group: SecurityGroup) -> String {
        let used = Set(group.rules.map(\.id))
        return (1...).lazy.map { "\(group.name)-\($0)" }.first { !used.contains($0) }!
    }

    /// `80`, `8000-8080`; icmp takes no ports.
    static func parsePorts(_ text: String?, proto: SecurityGroup.RuleProtocol) throws -> ClosedRange<UInt16>? {
        guard let text else { return nil }
        guard proto != .icmp else { throw VMCtlError("icmp rules take no ports") }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { throw VMCtlError("invalid ports '\(ResourceName.printable(text))': use P or A-B") }
        let low = try ForwardRule.port(String(parts[0]), what: "port")
        let high = parts.count == 2 ? try ForwardRule.port(String(parts[1]), what: "port") : low
        guard low <= high else { throw VMCtlError("invalid ports '\(text)': the range is reversed") }
        return low...high
    }
}

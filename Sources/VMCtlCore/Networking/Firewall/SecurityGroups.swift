/// OpenStack-style security groups: named sets of ingress rules; VMs are members of groups.
public struct SecurityGroups {
    let session: Session
    let store: ControlStore
    let firewall: Firewall

    public init(session: Session) {
        self.session = session
        self.store = ControlStore(session: session)
        self.firewall = Firewall(session: session)
    }

    public func create(_ name: String, lab: String? = nil) throws -> SecurityGroup {
        try ResourceName.validate(name, kind: "security group")
        return try firewall.commit { change in
            if change.control.effectiveGroups.contains(where: { $0.name == name }) { throw VMCtlError.alreadyExists("security group", name) }
            var group = SecurityGroup(name: name, rules: [])
            group.lab = lab
            change.control.securityGroups.append(group)
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

    /// Refused while a VM is in the group or another group's rule names it as its remote.
    public func delete(_ name: String) throws {
        guard name != SecurityGroup.defaultName else { throw VMCtlError.invalid("the default security group cannot be deleted") }
        try firewall.commit { change in
            let groups = change.control.effectiveGroups
            guard groups.contains(where: { $0.name == name }) else {
                throw VMCtlError.notFound("security group", name, known: groups.map(\.name))
            }
            let members = change.inputs.vms.filter { $0.metadata.securityGroups.contains(name) }.map(\.name)
            guard members.isEmpty else {
                throw VMCtlError.conflict("security group '\(name)' has members (\(members.joined(separator: ", "))); detach them first")
            }
            if let (group, rule) = Self.reference(to: name, in: groups) {
                throw VMCtlError.conflict("security group '\(name)' is the remote group of rule '\(rule.id)' of group '\(group.name)'; remove that rule first")
            }
            change.control.securityGroups.removeAll { $0.name == name }
        }
    }

    /// The first rule of another group that names `name` as its remote group.
    static func reference(to name: String, in groups: [SecurityGroup]) -> (SecurityGroup, SecurityGroup.Rule)? {
        for group in groups where group.name != name {
            if let rule = group.rules.first(where: { $0.remote == .group(name) }) { return (group, rule) }
        }
        return nil
    }

    /// Adds an ingress rule; returns it with its id.
    public func addRule(to name: String, proto: SecurityGroup.RuleProtocol, ports: PortRange?,
                        remote: SecurityGroup.Remote?) throws -> SecurityGroup.Rule {
        try proto.check(ports: ports)
        return try firewall.commit { change -> SecurityGroup.Rule in
            var groups = change.control.effectiveGroups
            guard let index = groups.firstIndex(where: { $0.name == name }) else {
                throw VMCtlError.notFound("security group", name, known: groups.map(\.name))
            }
            if case .group(let remoteGroup)? = remote, !groups.contains(where: { $0.name == remoteGroup }) {
                throw VMCtlError.notFound("security group", remoteGroup)
            }
            let id = Self.nextRuleID(in: groups[index])
            let rule = SecurityGroup.Rule(id: id, proto: proto, ports: ports, remote: remote)
            if groups[index].rules.contains(where: { $0.proto == rule.proto && $0.ports == rule.ports && $0.remote == rule.remote }) {
                throw VMCtlError(.alreadyExists, "security group '\(name)' already has that rule")
            }
            groups[index].rules.append(rule)
            change.control.securityGroups = groups
            return rule
        }
    }

    public func removeRule(from name: String, id: String) throws {
        try firewall.commit { change in
            var groups = change.control.effectiveGroups
            guard let index = groups.firstIndex(where: { $0.name == name }) else { throw VMCtlError.notFound("security group", name) }
            guard groups[index].rules.contains(where: { $0.id == id }) else {
                throw VMCtlError.notFound("rule", id, known: groups[index].rules.map(\.id))
            }
            groups[index].rules.removeAll { $0.id == id }
            change.control.securityGroups = groups
        }
    }

    public func attach(vm: String, group: String) throws {
        try firewall.commit { change in
            let groups = change.control.effectiveGroups
            guard groups.contains(where: { $0.name == group }) else {
                throw VMCtlError.notFound("security group", group, known: groups.map(\.name))
            }
            try change.updateMetadata(of: vm) { metadata in
                guard !metadata.securityGroups.contains(group) else { throw VMCtlError.conflict("VM '\(vm)' is already in security group '\(group)'") }
                metadata.securityGroups.append(group)
            }
        }
    }

    public func detach(vm: String, group: String) throws {
        try firewall.commit { change in
            try change.updateMetadata(of: vm) { metadata in
                guard metadata.securityGroups.contains(group) else { throw VMCtlError.conflict("VM '\(vm)' is not in security group '\(group)'") }
                metadata.securityGroups.removeAll { $0 == group }
            }
        }
    }

    /// `GROUP-N`, the lowest N not taken. Ids are names of at most `ResourceName.maximumLength` characters:
    /// a long group name is shortened in the id (ids are unique within their group, by N).
    static func nextRuleID(in group: SecurityGroup) -> String {
        let used = Set(group.rules.map(\.id))
        return (1...).lazy.map { number in
            let suffix = "-\(number)"
            var stem = Substring(group.name.prefix(ResourceName.maximumLength - suffix.count))
            while stem.last == "-" { stem = stem.dropLast() }
            return String(stem) + suffix
        }.first { !used.contains($0) }!
    }
}

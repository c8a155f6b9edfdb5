// MARK: - Validated, sorted model

/// The state after validation: everything sorted, so that equal states render byte-identical text
/// whatever the order of their arrays.
struct FirewallPlan {
    struct Net {
        var index: Int
        var rules: NetworkRules
        /// Bridges of the networks joined to this one by a router (sorted, without this one).
        var peers: [String]
    }

    struct Group {
        var index: Int
        var name: String
        var rules: [SecurityGroup.Rule]
        /// Member addresses with their VM names, sorted by address.
        var members: [(address: IPv4Address, vm: String)]
        var setName: String { "sg_\(index)_members" }
        var chainName: String { "sg_\(index)" }
    }

    var networks: [Net] = []
    var forwards: [PortForward] = []
    var floatingIPs: [FloatingIPBinding] = []
    var groups: [Group] = []
    /// Running guests' ports, sorted by name.
    var ports: [GuestPort] = []
    var managementGroup: UInt32?

    static func needsRouteLocalnet(_ forward: PortForward) -> Bool {
        guard let address = forward.hostAddress, address.value != 0 else { return true }
        return address.value >> 24 == 127
    }

    static func isLoopback(_ address: IPv4Address) -> Bool { address.value >> 24 == 127 }

    init(_ state: FirewallState) throws {
        managementGroup = state.managementGroup
        guard state.version <= FirewallState.currentVersion else {
            throw VMCtlError.invalid("firewall state version \(state.version) is newer than this vmctl understands (\(FirewallState.currentVersion))")
        }
        let known = try KnownNetworks(state.networks)
        networks = try Self.joinRouters(state.routers, known)
        var guests = try Self.guests(state.guests, known)
        floatingIPs = try Self.floatingIPs(state.floatingIPs, known, networks: networks, guests: &guests)
        forwards = try Self.forwards(state.forwards, known, floatingIPs: floatingIPs, guests: guests)
        ports = try Self.ports(state.ports, known)
        groups = try Self.groups(state.securityGroups, guests: guests)
    }

    /// The state's networks by name, each checked on its own and against the others.
    struct KnownNetworks {
        var byName: [String: NetworkRules] = [:]
        var bridges: Set<String> = []

        init(_ networks: [NetworkRules]) throws {
            for network in networks {
                try ResourceName.validate(network.name, kind: "network")
                try InterfaceName.validate(network.bridge, kind: "bridge")
                guard byName[network.name] == nil else { throw VMCtlError.invalid("network '\(network.name)' is listed twice") }
                guard bridges.insert(network.bridge).inserted else {
                    throw VMCtlError.conflict("bridge '\(network.bridge)' belongs to two networks")
                }
                if let range = network.subnet.specialUse {
                    throw VMCtlError.invalid("network '\(network.name)': subnet \(network.subnet) lies in the \(range) range")
                }
                guard (8...30).contains(network.subnet.prefix) else {
                    throw VMCtlError.invalid("network '\(network.name)': subnet \(network.subnet) must have a prefix between /8 and /30")
                }
                guard network.subnet.contains(network.gateway), network.gateway != network.subnet.network,
                      network.gateway.value != (network.subnet.network.value | ~network.subnet.mask) else {
                    throw VMCtlError.invalid("network '\(network.name)': gateway \(network.gateway) is not a host address of \(network.subnet)")
                }
                if let other = byName.values.first(where: { $0.subnet.overlaps(network.subnet) }) {
                    throw VMCtlError.conflict("networks '\(other.name)' and '\(network.name)' have overlapping subnets \(other.subnet) and \(network.subnet)")
                }
                byName[network.name] = network
            }
        }

        func network(_ name: String, for what: String) throws -> NetworkRules {
            guard let network = byName[name] else { throw VMCtlError.invalid("\(what): unknown network '\(ResourceName.printable(name))'") }
            return network
        }

        func checkGuestAddress(_ address: IPv4Address, on network: NetworkRules, for what: String) throws {
            guard network.subnet.contains(address), address != network.subnet.network, address != network.gateway,
                  address.value != (network.subnet.network.value | ~network.subnet.mask) else {
                throw VMCtlError.invalid("\(what): \(address) is not a guest address of network '\(network.name)' (\(network.subnet))")
            }
        }
    }

    // MARK: Routers: each network's peers

    static func joinRouters(_ routers: [Router], _ known: KnownNetworks) throws -> [Net] {
        var peers: [String: Set<String>] = [:]
        for router in routers {
            try ResourceName.validate(router.name, kind: "router")
            let joined = try router.networks.map { try known.network($0, for: "router '\(router.name)'") }
            if let isolated = joined.first(where: { $0.mode == .isolated }) {
                throw VMCtlError.invalid("router '\(router.name)' cannot join isolated network '\(isolated.name)'")
            }
            for a in joined { for b in joined where a.name != b.name { peers[a.name, default: []].insert(b.bridge) } }
        }
        return known.byName.values.sorted { $0.name < $1.name }.enumerated().map { index, rules in
            Net(index: index, rules: rules, peers: (peers[rules.name] ?? []).sorted())
        }
    }

    // MARK: Guests

    static func guests(_ guests: [Guest], _ known: KnownNetworks) throws -> [UInt32: Guest] {
        var byAddress: [UInt32: Guest] = [:]
        for guest in guests {
            try ResourceName.validate(guest.vm, kind: "VM")
            let net = try known.network(guest.network, for: "VM '\(guest.vm)'")
            try known.checkGuestAddress(guest.address, on: net, for: "VM '\(guest.vm)'")
            if let other = byAddress[guest.address.value] {
                throw VMCtlError.conflict("VMs '\(other.vm)' and '\(guest.vm)' both have address \(guest.address)")
            }
            for group in guest.groups { try ResourceName.validate(group, kind: "security group") }
            byAddress[guest.address.value] = guest
        }
        return byAddress
    }

    // MARK: Floating IPs

    /// The bindings, sorted; a binding's guest that no guest entry lists (a VM whose address is known only
    /// from the binding) joins `guests`, in no group, so it is in `default` like any guest in no group.
    static func floatingIPs(_ bindings: [FloatingIPBinding], _ known: KnownNetworks, networks: [Net],
                            guests: inout [UInt32: Guest]) throws -> [FloatingIPBinding] {
        var byAddress: Set<UInt32> = []
        var byGuest: [UInt32: FloatingIPBinding] = [:]
        for binding in bindings {
            try ResourceName.validate(binding.vm, kind: "VM")
            try InterfaceName.validate(binding.interface, kind: "interface")
            let what = "floating IP \(binding.address)"
            let net = try known.network(binding.network, for: what)
            guard net.mode != .isolated else { throw VMCtlError.invalid("\(what): network '\(net.name)' is isolated") }
            try known.checkGuestAddress(binding.guestAddress, on: net, for: what)
            let a = binding.address
            guard a.value != 0, !Self.isLoopback(a), a.value >> 28 < 14, a.value != UInt32.max else {
                throw VMCtlError.invalid("\(what) is not a usable unicast address")
            }
            if let inside = networks.first(where: { $0.rules.subnet.contains(a) }) {
                throw VMCtlError.invalid("\(what) lies inside network '\(inside.rules.name)' (\(inside.rules.subnet))")
            }
            if known.bridges.contains(binding.interface) {
                throw VMCtlError.invalid("\(what): interface '\(binding.interface)' is a vmctl bridge, not the host's uplink")
            }
            guard byAddress.insert(a.value).inserted else { throw VMCtlError.conflict("\(what) is bound twice") }
            if let other = byGuest[binding.guestAddress.value] {
                throw VMCtlError.conflict("guest \(binding.guestAddress) has two floating IPs (\(other.address) and \(a))")
            }
            if let guest = guests[binding.guestAddress.value], guest.vm != binding.vm || guest.network != binding.network {
                throw VMCtlError.invalid("\(what) names VM '\(binding.vm)' but \(binding.guestAddress) is VM '\(guest.vm)' on '\(guest.network)'")
            }
            byGuest[binding.guestAddress.value] = binding
        }
        let sorted = bindings.sorted { $0.address.value < $1.address.value }
        for binding in sorted where guests[binding.guestAddress.value] == nil {
            guests[binding.guestAddress.value] = Guest(vm: binding.vm, address: binding.guestAddress, network: binding.network, groups: [])
        }
        return sorted
    }

    // MARK: Port forwards

    static func forwards(_ forwards: [PortForward], _ known: KnownNetworks, floatingIPs: [FloatingIPBinding],
                         guests: [UInt32: Guest]) throws -> [PortForward] {
        let floatingAddresses = Set(floatingIPs.map(\.address.value))
        struct Key: Hashable { var proto: TransportProtocol; var address: UInt32?; var port: UInt16 }
        var taken: [Key: PortForward] = [:]
        var normalised: [PortForward] = []
        for var forward in forwards {
            try ResourceName.validate(forward.name, kind: "port forward")
            try ResourceName.validate(forward.vm, kind: "VM")
            let what = "port forward '\(forward.name)'"
            if forward.hostAddress?.value == 0 { forward.hostAddress = nil }  // 0.0.0.0: every address
            let net = try known.network(forward.network, for: what)
            guard net.mode != .isolated else { throw VMCtlError.invalid("\(what): network '\(net.name)' is isolated") }
            try known.checkGuestAddress(forward.guestAddress, on: net, for: what)
            guard forward.hostPort != 0, forward.guestPort != 0 else { throw VMCtlError.invalid("\(what): port 0 cannot be forwarded") }
            if let address = forward.hostAddress {
                guard address.value >> 28 < 14, address.value != UInt32.max else {
                    throw VMCtlError.invalid("\(what): host address \(address) is not a unicast address")
                }
                if floatingAddresses.contains(address.value) {
                    throw VMCtlError.invalid("\(what): host address \(address) is a floating IP, which already forwards every port")
                }
            }
            if let guest = guests[forward.guestAddress.value], guest.vm != forward.vm {
                throw VMCtlError.invalid("\(what) names VM '\(forward.vm)' but \(forward.guestAddress) is VM '\(guest.vm)'")
            }
            let key = Key(proto: forward.proto, address: forward.hostAddress?.value, port: forward.hostPort)
            // A forward on every address overlaps every forward of the same port, whatever its address.
            let clash = taken[key]
                ?? (key.address == nil
                    ? taken.first(where: { $0.key.proto == key.proto && $0.key.port == key.port })?.value
                    : taken[Key(proto: key.proto, address: nil, port: key.port)])
            if let clash {
                let host = forward.hostAddress.map { "\($0)" } ?? "*"
                throw VMCtlError.conflict("port forwards '\(clash.name)' and '\(forward.name)' both take \(forward.proto.rawValue) \(host):\(forward.hostPort)")
            }
            taken[key] = forward
            normalised.append(forward)
        }
        return normalised.sorted {
            ($0.proto.rawValue, $0.hostAddress.map { Int64($0.value) } ?? -1, $0.hostPort)
                < ($1.proto.rawValue, $1.hostAddress.map { Int64($0.value) } ?? -1, $1.hostPort)
        }
    }

    // MARK: Ports: each pinned to one guest's MAC and its reserved addresses on the port's network

    static func ports(_ ports: [GuestPort], _ known: KnownNetworks) throws -> [GuestPort] {
        var names: Set<String> = []
        var byAddress: [UInt32: GuestPort] = [:]
        for port in ports {
            // Any running domain on a vmctl network has a port here, named as its owner chose: the name
            // appears in messages only, never in the script.
            try InterfaceName.validate(port.port, kind: "port")
            let what = "VM '\(ResourceName.printable(port.vm))' port '\(port.port)'"
            let net = try known.network(port.network, for: what)
            guard !known.bridges.contains(port.port) else { throw VMCtlError.invalid("\(what) is a vmctl bridge") }
            guard names.insert(port.port).inserted else { throw VMCtlError.invalid("port '\(port.port)' is listed twice") }
            for address in Set(port.addresses.map(\.value)).sorted().map({ IPv4Address(value: $0) }) {
                try known.checkGuestAddress(address, on: net, for: what)
                if let other = byAddress[address.value] {
                    throw VMCtlError.conflict("ports '\(other.port)' and '\(port.port)' both claim \(address)")
                }
                byAddress[address.value] = port
            }
        }
        return ports.map { port in
            var sorted = port
            sorted.addresses = Array(Set(port.addresses.map(\.value))).sorted().map { IPv4Address(value: $0) }
            return sorted
        }.sorted { $0.port < $1.port }
    }

    // MARK: Security groups (`default` exists even when the state does not spell it out)

    static func groups(_ securityGroups: [SecurityGroup], guests: [UInt32: Guest]) throws -> [Group] {
        var byName: [String: SecurityGroup] = [:]
        for group in securityGroups {
            try ResourceName.validate(group.name, kind: "security group")
            guard byName[group.name] == nil else { throw VMCtlError.invalid("security group '\(group.name)' is listed twice") }
            byName[group.name] = group
        }
        if byName[SecurityGroup.defaultName] == nil { byName[SecurityGroup.defaultName] = .defaultGroup }
        for group in byName.values {
            var ids: Set<String> = []
            for rule in group.rules {
                try ResourceName.validate(rule.id, kind: "security group rule")
                guard ids.insert(rule.id).inserted else {
                    throw VMCtlError.invalid("security group '\(group.name)' has two rules '\(rule.id)'")
                }
                if rule.proto == .icmp, rule.ports != nil {
                    throw VMCtlError.invalid("security group '\(group.name)' rule '\(rule.id)': icmp has no ports")
                }
                switch rule.remote {
                case .group(let name):
                    guard byName[name] != nil else {
                        throw VMCtlError.invalid("security group '\(group.name)' rule '\(rule.id)': unknown remote group '\(ResourceName.printable(name))'")
                    }
                case .cidr, nil: break
                }
            }
        }
        let sortedGuests = guests.values.sorted { $0.address.value < $1.address.value }
        for guest in sortedGuests {
            for name in guest.groups where byName[name] == nil {
                throw VMCtlError.invalid("VM '\(guest.vm)': unknown security group '\(name)'")
            }
        }
        return byName.keys.sorted().enumerated().map { index, name in
            let members = sortedGuests.filter { guest in
                guest.groups.contains(name) || (guest.groups.isEmpty && name == SecurityGroup.defaultName)
            }
            return Group(index: index, name: name, rules: byName[name]!.rules.sorted { $0.id < $1.id },
                         members: members.map { ($0.address, $0.vm) })
        }
    }

    func groupIndex(_ name: String) -> Int { groups.first { $0.name == name }!.index }
}

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

        // Networks.
        var byName: [String: NetworkRules] = [:]
        var bridges: Set<String> = []
        for network in state.networks {
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
        func network(_ name: String, for what: String) throws -> NetworkRules {
            guard let network = byName[name] else { throw VMCtlError.invalid("\(what): unknown network '\(ResourceName.printable(name))'") }
            return network
        }
        func guestAddress(_ address: IPv4Address, on network: NetworkRules, for what: String) throws {
            guard network.subnet.contains(address), address != network.subnet.network, address != network.gateway,
                  address.value != (network.subnet.network.value | ~network.subnet.mask) else {
                throw VMCtlError.invalid("\(what): \(address) is not a guest address of network '\(network.name)' (\(network.subnet))")
            }
        }

        // Routers: each network's peers.
        var peers: [String: Set<String>] = [:]
        for router in state.routers {
            try ResourceName.validate(router.name, kind: "router")
            let joined = try router.networks.map { try network($0, for: "router '\(router.name)'") }
            if let isolated = joined.first(where: { $0.mode == .isolated }) {
                throw VMCtlError.invalid("router '\(router.name)' cannot join isolated network '\(isolated.name)'")
            }
            for a in joined { for b in joined where a.name != b.name { peers[a.name, default: []].insert(b.bridge) } }
        }
        networks = byName.values.sorted { $0.name < $1.name }.enumerated().map { index, rules in
            Net(index: index, rules: rules, peers: (peers[rules.name] ?? []).sorted())
        }

        // Guests.
        var guestsByAddress: [UInt32: Guest] = [:]
        for guest in state.guests {
            try ResourceName.validate(guest.vm, kind: "VM")
            let net = try network(guest.network, for: "VM '\(guest.vm)'")
            try guestAddress(guest.address, on: net, for: "VM '\(guest.vm)'")
            if let other = guestsByAddress[guest.address.value] {
                throw VMCtlError.conflict("VMs '\(other.vm)' and '\(guest.vm)' both have address \(guest.address)")
            }
            for group in guest.groups { try ResourceName.validate(group, kind: "security group") }
            guestsByAddress[guest.address.value] = guest
        }

        // Floating IPs.
        var floatingByAddress: Set<UInt32> = []
        var floatingByGuest: [UInt32: FloatingIPBinding] = [:]
        for binding in state.floatingIPs {
            try ResourceName.validate(binding.vm, kind: "VM")
            try InterfaceName.validate(binding.interface, kind: "interface")
            let what = "floating IP \(binding.address)"
            let net = try network(binding.network, for: what)
            guard net.mode != .isolated else { throw VMCtlError.invalid("\(what): network '\(net.name)' is isolated") }
            try guestAddress(binding.guestAddress, on: net, for: what)
            let a = binding.address
            guard a.value != 0, !Self.isLoopback(a), a.value >> 28 < 14, a.value != UInt32.max else {
                throw VMCtlError.invalid("\(what) is not a usable unicast address")
            }
            if let inside = networks.first(where: { $0.rules.subnet.contains(a) }) {
                throw VMCtlError.invalid("\(what) lies inside network '\(inside.rules.name)' (\(inside.rules.subnet))")
            }
            if bridges.contains(binding.interface) {
                throw VMCtlError.invalid("\(what): interface '\(binding.interface)' is a vmctl bridge, not the host's uplink")
            }
            guard floatingByAddress.insert(a.value).inserted else { throw VMCtlError.conflict("\(what) is bound twice") }
            if let other = floatingByGuest[binding.guestAddress.value] {
                throw VMCtlError.conflict("guest \(binding.guestAddress) has two floating IPs (\(other.address) and \(a))")
            }
            if let guest = guestsByAddress[binding.guestAddress.value], guest.vm != binding.vm || guest.network != binding.network {
                throw VMCtlError.invalid("\(what) names VM '\(binding.vm)' but \(binding.guestAddress) is VM '\(guest.vm)' on '\(guest.network)'")
            }
            floatingByGuest[binding.guestAddress.value] = binding
        }
        floatingIPs = state.floatingIPs.sorted { $0.address.value < $1.address.value }
        // A floating IP's guest that no guest entry lists (a VM whose address is known only from the
        // binding) is in `default`, like any guest in no group.
        for binding in floatingIPs where guestsByAddress[binding.guestAddress.value] == nil {
            guestsByAddress[binding.guestAddress.value] = Guest(vm: binding.vm, address: binding.guestAddress,
                                                                network: binding.network, groups: [])
        }

        // Port forwards.
        struct Key: Hashable { var proto: TransportProtocol; var address: UInt32?; var port: UInt16 }
        var taken: [Key: PortForward] = [:]
        var normalised: [PortForward] = []
        for var forward in state.forwards {
            try ResourceName.validate(forward.name, kind: "port forward")
            try ResourceName.validate(forward.vm, kind: "VM")
            let what = "port forward '\(forward.name)'"
            if forward.hostAddress?.value == 0 { forward.hostAddress = nil }  // 0.0.0.0: every address
            let net = try network(forward.network, for: what)
            guard net.mode != .isolated else { throw VMCtlError.invalid("\(what): network '\(net.name)' is isolated") }
            try guestAddress(forward.guestAddress, on: net, for: what)
            guard forward.hostPort != 0, forward.guestPort != 0 else { throw VMCtlError.invalid("\(what): port 0 cannot be forwarded") }
            if let address = forward.hostAddress {
                guard address.value >> 28 < 14, address.value != UInt32.max else {
                    throw VMCtlError.invalid("\(what): host address \(address) is not a unicast address")
                }
                if floatingByAddress.contains(address.value) {
                    throw VMCtlError.invalid("\(what): host address \(address) is a floating IP, which already forwards every port")
                }
            }
            if let guest = guestsByAddress[forward.guestAddress.value], guest.vm != forward.vm {
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
        forwards = normalised.sorted {
            ($0.proto.rawValue, $0.hostAddress.map { Int64($0.value) } ?? -1, $0.hostPort)
                < ($1.proto.rawValue, $1.hostAddress.map { Int64($0.value) } ?? -1, $1.hostPort)
        }

        // Ports: each pinned to one guest's MAC and its reserved addresses on the port's network.
        var portNames: Set<String> = []
        var portAddresses: [UInt32: GuestPort] = [:]
        for port in state.ports {
            // Any running domain on a vmctl network has a port here, named as its owner chose: the name
            // appears in messages only, never in the script.
            try InterfaceName.validate(port.port, kind: "port")
            let what = "VM '\(ResourceName.printable(port.vm))' port '\(port.port)'"
            let net = try network(port.network, for: what)
            guard !bridges.contains(port.port) else { throw VMCtlError.invalid("\(what) is a vmctl bridge") }
            guard portNames.insert(port.port).inserted else { throw VMCtlError.invalid("port '\(port.port)' is listed twice") }
            for address in Set(port.addresses.map(\.value)).sorted().map({ IPv4Address(value: $0) }) {
                try guestAddress(address, on: net, for: what)
                if let other = portAddresses[address.value] {
                    throw VMCtlError.conflict("ports '\(other.port)' and '\(port.port)' both claim \(address)")
                }
                portAddresses[address.value] = port
            }
        }
        ports = state.ports.map { port in
            var sorted = port
            sorted.addresses = Array(Set(port.addresses.map(\.value))).sorted().map { IPv4Address(value: $0) }
            return sorted
        }.sorted { $0.port < $1.port }

        // Security groups (`default` exists even when the state does not spell it out).
        var groupsByName: [String: SecurityGroup] = [:]
        for group in state.securityGroups {
            try ResourceName.validate(group.name, kind: "security group")
            guard groupsByName[group.name] == nil else { throw VMCtlError.invalid("security group '\(group.name)' is listed twice") }
            groupsByName[group.name] = group
        }
        if groupsByName[SecurityGroup.defaultName] == nil { groupsByName[SecurityGroup.defaultName] = .defaultGroup }
        for group in groupsByName.values {
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
                    guard groupsByName[name] != nil else {
                        throw VMCtlError.invalid("security group '\(group.name)' rule '\(rule.id)': unknown remote group '\(ResourceName.printable(name))'")
                    }
                case .cidr, nil: break
                }
            }
        }
        let sortedGuests = guestsByAddress.values.sorted { $0.address.value < $1.address.value }
        for guest in sortedGuests {
            for name in guest.groups where groupsByName[name] == nil {
                throw VMCtlError.invalid("VM '\(guest.vm)': unknown security group '\(name)'")
            }
        }
        groups = groupsByName.keys.sorted().enumerated().map { index, name in
            let members = sortedGuests.filter { guest in
                guest.groups.contains(name) || (guest.groups.isEmpty && name == SecurityGroup.defaultName)
            }
            return Group(index: index, name: name, rules: groupsByName[name]!.rules.sorted { $0.id < $1.id },
                         members: members.map { ($0.address, $0.vm) })
        }
    }

    func groupIndex(_ name: String) -> Int { groups.first { $0.name == name }!.index }
}

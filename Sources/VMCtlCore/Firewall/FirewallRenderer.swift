/// Renders vmctl's whole firewall, a pure function of `FirewallState`, as one nftables script.
///
/// vmctl's networks are defined with `<forward mode='open'/>`, so libvirt adds no rules for them and vmctl
/// owns every rule its guests depend on: masquerade, isolation, port forwards, floating IPs, security
/// groups and routers. They live in two tables, `table ip vmctl` and `table bridge vmctl` (anti-spoofing
/// on the guests' bridge ports), which the script replaces in a single transaction (`nft -f`): it creates
/// the tables if missing, deletes them and defines them anew, so a reader never sees half a rule set and
/// a failing script changes nothing.
///
/// Layout of the table (names of chains and sets are fixed words and indexes; user-chosen names of
/// networks, VMs, forwards and groups appear only in comments, after `ResourceName.validate`):
///
/// | object | kind | what it does |
/// |---|---|---|
/// | `bridges` | set of ifname | every vmctl bridge (by name, so rules survive `net-destroy` + `net-start`) |
/// | `nat_subnets` | interval set | subnets of `nat` networks, masqueraded when leaving for non-vmctl interfaces |
/// | `subnets`, `gateways` | interval set, set | every vmctl network's subnet and gateway (the host's own traffic) |
/// | `fip_addrs` | set | floating addresses |
/// | `fip_dnat` | map address → guest | floating IP in (all protocols, then security groups) |
/// | `fip_snat` | map guest . ifname → address | floating IP out, when leaving through the floating IP's interface |
/// | `pf_tcp`, `pf_udp` | map host address . port → guest . port | forwards bound to one host address |
/// | `pf_any_tcp`, `pf_any_udp` | map port → guest . port | forwards on every local address (`fib daddr type local`) |
/// | `pf_targets` | set guest . proto . port | the forwarded destinations, allowed through the forward filter |
/// | `sg_N_members` | set | addresses of the members of security group N (groups sorted by name) |
/// | chain `guard` | filter, prerouting, priority mangle (-150) | drops 127/8 arriving on other interfaces than lo (route_localnet) |
/// | chain `prerouting` | nat, prerouting, priority dstnat (-100) | → `dnat_rules` (traffic from outside and from guests: hairpin), not for isolated bridges |
/// | chain `output` | nat, output, priority -100 | → `dnat_rules` (connections the host itself makes: 127.0.0.1:2222) |
/// | chain `dnat_rules` | regular | floating IPs first, then forwards on one address, then forwards on any local address |
/// | chain `postrouting` | nat, postrouting, priority srcnat (100) | SNAT to the gateway of DNAT'd connections from the host or from the guest's own subnet, floating SNAT, masquerade |
/// | chain `forward` | filter, forward, priority filter (0) | replies, isolated bridges kept in, forwarded ports, then per-bridge chains through two verdict maps |
/// | chain `host_out` | filter, output, priority filter (0) | the host's own packets into bridges: replies, DHCP answers, management group, forwarded ports, then `to_N` |
/// | chain `host_in` | filter, input, priority filter (0) | from isolated bridges, only DHCP and DNS reach the host |
/// | chains `to_N`, `from_N` | regular | traffic entering / leaving network N (networks sorted by name) |
/// | chain `sg_ingress`, `sg_N` | regular | security groups of the destination guest; anything no group allows is dropped |
///
/// Table `bridge vmctl`: sets `ports`, `port_macs` (port . MAC) and `port_addrs` (port . address), chain
/// `prerouting` (filter, priority filter) → `guest_port`, which lets a port send only as its guest.
///
/// Coexistence. Only tables `ip vmctl` and `bridge vmctl` are touched. Base chains use the standard priorities, so they run
/// alongside iptables-nft's and other tables' chains at the same hooks. In nftables an `accept` only ends
/// the evaluation of *this* table's chain: a packet must be accepted by every base chain of every table at
/// a hook, and a `drop` anywhere is final. Our base chains therefore have policy `accept` and drop only
/// traffic of vmctl bridges. Consequence: Docker's `FORWARD` policy `DROP` (table `ip filter`, chain
/// `FORWARD`, same hook) drops every forwarded guest packet whatever this table says — guests then reach
/// nothing outside and forwards / floating IPs do not answer. The fix is Docker's own hook, e.g.
/// `iptables -I DOCKER-USER -i vmctl0 -j ACCEPT` and `-o vmctl0 -j ACCEPT`; `vmctl doctor` warns about it.
/// With `br_netfilter` loaded (Docker loads it), traffic between guests on one bridge also crosses the
/// `forward` hook (iif and oif both the bridge): `to_N` accepts it first, and Docker's DROP drops it too.
public enum FirewallRenderer {
    public static let family = "ip"
    /// The second table, `bridge vmctl`, replaced in the same transaction: per-port anti-spoofing.
    public static let bridgeFamily = "bridge"
    public static let tableName = "vmctl"

    /// The nft script that replaces tables `ip vmctl` and `bridge vmctl` with the rules for `state`.
    /// Throws on state that is invalid or contradicts itself, before producing any text.
    public static func render(_ state: FirewallState) throws -> String {
        let plan = try FirewallPlan(state)
        return NFTScript(plan).text
    }

    /// Kernel settings the rule set depends on (applied by `FirewallApplier` in the same namespace).
    public static func requiredSysctls(_ state: FirewallState) -> [Sysctl] {
        var result: [Sysctl] = []
        if state.networks.contains(where: { $0.mode != .isolated }) {
            result.append(Sysctl(key: "net.ipv4.ip_forward", value: "1"))
        }
        // DNAT of 127.0.0.1:PORT to a guest: the rerouted packet keeps its loopback source until
        // postrouting SNATs it to the gateway, and the kernel refuses to route a loopback source out of an
        // interface (and the de-NATed reply back in) unless that interface has route_localnet. Only the
        // bridges of such forwards' guests get it, and every other vmctl bridge gets it back to 0; `conf.all`
        // is left alone (the kernel ORs it in, and other software owns it). The guard chain drops 127/8
        // arriving on any interface but lo, so a guest cannot use it to reach the host's loopback services.
        let needing = Set(state.forwards.filter(FirewallPlan.needsRouteLocalnet).map(\.network))
        for network in state.networks.sorted(by: { $0.bridge < $1.bridge }) {
            result.append(Sysctl(key: "net.ipv4.conf.\(network.bridge.replacingOccurrences(of: ".", with: "/")).route_localnet",
                                 value: needing.contains(network.name) ? "1" : "0", interface: network.bridge))
        }
        return result
    }

    /// The floating addresses the host must own (answer ARP for): each `address/32` on its interface.
    public static func floatingAddresses(_ state: FirewallState) throws -> [FloatingAddress] {
        try FirewallPlan(state).floatingIPs.map { FloatingAddress(address: $0.address, interface: $0.interface) }
    }
}

/// A kernel setting, as `sysctl` names it.
public struct Sysctl: Codable, Sendable, Hashable, CustomStringConvertible {
    public let key: String
    public let value: String
    /// The interface a per-interface setting belongs to: it exists only while the interface does (a
    /// stopped network has no bridge), and the reconcile its network's start triggers sets it then.
    public let interface: String?

    public init(key: String, value: String, interface: String? = nil) {
        self.key = key
        self.value = value
        self.interface = interface
    }

    public var description: String { "\(key)=\(value)" }
}

/// A floating address the host holds on an interface.
public struct FloatingAddress: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public let address: IPv4Address
    public let interface: String

    public init(address: IPv4Address, interface: String) {
        self.address = address
        self.interface = interface
    }

    public var description: String { "\(address)/32 on \(interface)" }

    public static func < (lhs: FloatingAddress, rhs: FloatingAddress) -> Bool {
        (lhs.address.value, lhs.interface) < (rhs.address.value, rhs.interface)
    }
}

/// Interface and bridge names as they appear in rules and in `ip` argv: strict enough that they never
/// carry nftables syntax (no quotes, spaces, braces or semicolons) and fit the kernel's IFNAMSIZ.
public enum InterfaceName {
    public static let maximumLength = 15

    public static func validate(_ name: String, kind: String) throws {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
        guard !name.isEmpty, name.utf8.count <= maximumLength, allowed, name != ".", name != ".." else {
            throw VMCtlError(
                "invalid \(kind) name '\(ResourceName.printable(name))': use 1-\(maximumLength) letters, digits, '_', '-' or '.'")
        }
    }
}

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
            throw VMCtlError("firewall state version \(state.version) is newer than this vmctl understands (\(FirewallState.currentVersion))")
        }

        // Networks.
        var byName: [String: NetworkRules] = [:]
        var bridges: Set<String> = []
        for network in state.networks {
            try ResourceName.validate(network.name, kind: "network")
            try InterfaceName.validate(network.bridge, kind: "bridge")
            guard byName[network.name] == nil else { throw VMCtlError("network '\(network.name)' is listed twice") }
            guard bridges.insert(network.bridge).inserted else {
                throw VMCtlError("bridge '\(network.bridge)' belongs to two networks")
            }
            if let range = network.subnet.specialUse {
                throw VMCtlError("network '\(network.name)': subnet \(network.subnet) lies in the \(range) range")
            }
            guard (8...30).contains(network.subnet.prefix) else {
                throw VMCtlError("network '\(network.name)': subnet \(network.subnet) must have a prefix between /8 and /30")
            }
            guard network.subnet.contains(network.gateway), network.gateway != network.subnet.network,
                  network.gateway.value != (network.subnet.network.value | ~network.subnet.mask) else {
                throw VMCtlError("network '\(network.name)': gateway \(network.gateway) is not a host address of \(network.subnet)")
            }
            if let other = byName.values.first(where: { $0.subnet.overlaps(network.subnet) }) {
                throw VMCtlError("networks '\(other.name)' and '\(network.name)' have overlapping subnets \(other.subnet) and \(network.subnet)")
            }
            byName[network.name] = network
        }
        func network(_ name: String, for what: String) throws -> NetworkRules {
            guard let network = byName[name] else { throw VMCtlError("\(what): unknown network '\(ResourceName.printable(name))'") }
            return network
        }
        func guestAddress(_ address: IPv4Address, on network: NetworkRules, for what: String) throws {
            guard network.subnet.contains(address), address != network.subnet.network, address != network.gateway,
                  address.value != (network.subnet.network.value | ~network.subnet.mask) else {
                throw VMCtlError("\(what): \(address) is not a guest address of network '\(network.name)' (\(network.subnet))")
            }
        }

        // Routers: each network's peers.
        var peers: [String: Set<String>] = [:]
        for router in state.routers {
            try ResourceName.validate(router.name, kind: "router")
            let joined = try router.networks.map { try network($0, for: "router '\(router.name)'") }
            if let isolated = joined.first(where: { $0.mode == .isolated }) {
                throw VMCtlError("router '\(router.name)' cannot join isolated network '\(isolated.name)'")
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
                throw VMCtlError("VMs '\(other.vm)' and '\(guest.vm)' both have address \(guest.address)")
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
            guard net.mode != .isolated else { throw VMCtlError("\(what): network '\(net.name)' is isolated") }
            try guestAddress(binding.guestAddress, on: net, for: what)
            let a = binding.address
            guard a.value != 0, !Self.isLoopback(a), a.value >> 28 < 14, a.value != UInt32.max else {
                throw VMCtlError("\(what) is not a usable unicast address")
            }
            if let inside = networks.first(where: { $0.rules.subnet.contains(a) }) {
                throw VMCtlError("\(what) lies inside network '\(inside.rules.name)' (\(inside.rules.subnet))")
            }
            if bridges.contains(binding.interface) {
                throw VMCtlError("\(what): interface '\(binding.interface)' is a vmctl bridge, not the host's uplink")
            }
            guard floatingByAddress.insert(a.value).inserted else { throw VMCtlError("\(what) is bound twice") }
            if let other = floatingByGuest[binding.guestAddress.value] {
                throw VMCtlError("guest \(binding.guestAddress) has two floating IPs (\(other.address) and \(a))")
            }
            if let guest = guestsByAddress[binding.guestAddress.value], guest.vm != binding.vm || guest.network != binding.network {
                throw VMCtlError("\(what) names VM '\(binding.vm)' but \(binding.guestAddress) is VM '\(guest.vm)' on '\(guest.network)'")
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
            guard net.mode != .isolated else { throw VMCtlError("\(what): network '\(net.name)' is isolated") }
            try guestAddress(forward.guestAddress, on: net, for: what)
            guard forward.hostPort != 0, forward.guestPort != 0 else { throw VMCtlError("\(what): port 0 cannot be forwarded") }
            if let address = forward.hostAddress {
                guard address.value >> 28 < 14, address.value != UInt32.max else {
                    throw VMCtlError("\(what): host address \(address) is not a unicast address")
                }
                if floatingByAddress.contains(address.value) {
                    throw VMCtlError("\(what): host address \(address) is a floating IP, which already forwards every port")
                }
            }
            if let guest = guestsByAddress[forward.guestAddress.value], guest.vm != forward.vm {
                throw VMCtlError("\(what) names VM '\(forward.vm)' but \(forward.guestAddress) is VM '\(guest.vm)'")
            }
            let key = Key(proto: forward.proto, address: forward.hostAddress?.value, port: forward.hostPort)
            // A forward on every address overlaps every forward of the same port, whatever its address.
            let clash = taken[key]
                ?? (key.address == nil
                    ? taken.first(where: { $0.key.proto == key.proto && $0.key.port == key.port })?.value
                    : taken[Key(proto: key.proto, address: nil, port: key.port)])
            if let clash {
                let host = forward.hostAddress.map { "\($0)" } ?? "*"
                throw VMCtlError("port forwards '\(clash.name)' and '\(forward.name)' both take \(forward.proto.rawValue) \(host):\(forward.hostPort)")
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
            guard !bridges.contains(port.port) else { throw VMCtlError("\(what) is a vmctl bridge") }
            guard portNames.insert(port.port).inserted else { throw VMCtlError("port '\(port.port)' is listed twice") }
            for address in Set(port.addresses.map(\.value)).sorted().map({ IPv4Address(value: $0) }) {
                try guestAddress(address, on: net, for: what)
                if let other = portAddresses[address.value] {
                    throw VMCtlError("ports '\(other.port)' and '\(port.port)' both claim \(address)")
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
            guard groupsByName[group.name] == nil else { throw VMCtlError("security group '\(group.name)' is listed twice") }
            groupsByName[group.name] = group
        }
        if groupsByName[SecurityGroup.defaultName] == nil { groupsByName[SecurityGroup.defaultName] = .defaultGroup }
        for group in groupsByName.values {
            var ids: Set<String> = []
            for rule in group.rules {
                try ResourceName.validate(rule.id, kind: "security group rule")
                guard ids.insert(rule.id).inserted else {
                    throw VMCtlError("security group '\(group.name)' has two rules '\(rule.id)'")
                }
                if rule.proto == .icmp, rule.ports != nil {
                    throw VMCtlError("security group '\(group.name)' rule '\(rule.id)': icmp has no ports")
                }
                switch rule.remote {
                case .group(let name):
                    guard groupsByName[name] != nil else {
                        throw VMCtlError("security group '\(group.name)' rule '\(rule.id)': unknown remote group '\(ResourceName.printable(name))'")
                    }
                case .cidr, nil: break
                }
            }
        }
        let sortedGuests = guestsByAddress.values.sorted { $0.address.value < $1.address.value }
        for guest in sortedGuests {
            for name in guest.groups where groupsByName[name] == nil {
                throw VMCtlError("VM '\(guest.vm)': unknown security group '\(name)'")
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

// MARK: - Text

/// Writes the script. Every interpolated value is typed (addresses, subnets, ports, enums) or a name that
/// passed `InterfaceName.validate` / `ResourceName.validate` — nothing here can carry nft syntax.
private struct NFTScript {
    let plan: FirewallPlan
    private var lines: [String] = []

    init(_ plan: FirewallPlan) {
        self.plan = plan
        build()
    }

    var text: String { lines.joined(separator: "\n") + "\n" }

    private mutating func line(_ depth: Int, _ text: String) {
        lines.append(String(repeating: "\t", count: depth) + text)
    }

    private mutating func set(_ name: String, _ type: String, flags: String? = nil, _ elements: [String]) {
        collection("set", name, type, flags: flags, elements)
    }

    private mutating func map(_ name: String, _ type: String, _ elements: [String]) {
        collection("map", name, type, flags: nil, elements)
    }

    private mutating func collection(_ kind: String, _ name: String, _ type: String, flags: String?, _ elements: [String]) {
        line(1, "\(kind) \(name) {")
        line(2, type)
        if let flags { line(2, "flags \(flags)") }
        if !elements.isEmpty {
            line(2, "elements = {")
            for (i, element) in elements.enumerated() { line(3, element + (i < elements.count - 1 ? "," : "")) }
            line(2, "}")
        }
        line(1, "}")
    }

    private mutating func chain(_ name: String, hook: String? = nil, comment: String? = nil, _ rules: [String]) {
        line(1, "chain \(name) {")
        if let hook { line(2, hook) }
        if let comment { line(2, "comment \(quoted(comment))") }
        for rule in rules { line(2, rule) }
        line(1, "}")
    }

    /// Comments hold only validated names and fixed words; nft allows 128 characters.
    private func quoted(_ comment: String) -> String { "\"\(comment.prefix(128))\"" }

    private mutating func build() {
        let networks = plan.networks
        let bridges = networks.map(\.rules.bridge).sorted()
        let allForwards = plan.forwards
        let forwardsOn = { (proto: TransportProtocol, any: Bool) in
            allForwards.filter { $0.proto == proto && ($0.hostAddress == nil) == any }
        }

        line(0, "#!/usr/sbin/nft -f")
        line(0, "# Generated by vmctl from its firewall state; `vmctl net reconcile` rewrites it. Do not edit.")
        line(0, "# One transaction: make sure the tables exist, delete them, define them anew.")
        for family in [FirewallRenderer.family, FirewallRenderer.bridgeFamily] {
            line(0, "table \(family) \(FirewallRenderer.tableName) {}")
            line(0, "delete table \(family) \(FirewallRenderer.tableName)")
        }
        line(0, "table \(FirewallRenderer.family) \(FirewallRenderer.tableName) {")
        line(1, "comment \(quoted("vmctl: networks, port forwards, floating IPs, security groups, routers"))")

        // Sets and maps.
        set("bridges", "type ifname", bridges.map { "\"\($0)\"" })
        set("nat_subnets", "type ipv4_addr", flags: "interval",
            networks.filter { $0.rules.mode == .nat }.map { "\($0.rules.subnet)" })
        set("subnets", "type ipv4_addr", flags: "interval", networks.map { "\($0.rules.subnet)" })
        set("gateways", "type ipv4_addr", networks.map { "\($0.rules.gateway)" })
        set("fip_addrs", "type ipv4_addr", plan.floatingIPs.map { "\($0.address)" })
        map("fip_dnat", "type ipv4_addr : ipv4_addr",
            plan.floatingIPs.map { "\($0.address) comment \(quoted("vm \($0.vm)")) : \($0.guestAddress)" })
        map("fip_snat", "typeof ip saddr . oifname : ip saddr",
            plan.floatingIPs.map { "\($0.guestAddress) . \"\($0.interface)\" : \($0.address)" })
        for proto in TransportProtocol.allCases {
            map("pf_\(proto.rawValue)", "type ipv4_addr . inet_service : ipv4_addr . inet_service",
                forwardsOn(proto, false).map {
                    "\($0.hostAddress!) . \($0.hostPort) comment \(quoted("\($0.vm)/\($0.name)")) : \($0.guestAddress) . \($0.guestPort)"
                })
        }
        for proto in TransportProtocol.allCases {
            map("pf_any_\(proto.rawValue)", "type inet_service : ipv4_addr . inet_service",
                forwardsOn(proto, true).map {
                    "\($0.hostPort) comment \(quoted("\($0.vm)/\($0.name)")) : \($0.guestAddress) . \($0.guestPort)"
                })
        }
        var targets: [String] = []
        for forward in plan.forwards.sorted(by: { ($0.guestAddress.value, $0.proto.rawValue, $0.guestPort) < ($1.guestAddress.value, $1.proto.rawValue, $1.guestPort) }) {
            let element = "\(forward.guestAddress) . \(forward.proto.rawValue) . \(forward.guestPort)"
            if targets.last != element { targets.append(element) }
        }
        set("pf_targets", "type ipv4_addr . inet_proto . inet_service", targets)
        for group in plan.groups {
            set(group.setName, "type ipv4_addr", group.members.map { "\($0.address) comment \(quoted("vm \($0.vm)"))" })
        }

        // With route_localnet on an interface (vmctl's bridges that carry forwards reachable on 127.0.0.1,
        // or anyone's `conf.all`), a guest or neighbour could send packets to 127.0.0.0/8 and reach the
        // host's loopback services (CVE-2020-8558). The guard is always there, so no order of sysctl and
        // rule changes leaves route_localnet on without it. It drops before DNAT (-100) and after conntrack
        // (-200), so the replies of the host's own 127.0.0.1 → guest connections (still addressed to the
        // gateway here) pass.
        chain("guard", hook: "type filter hook prerouting priority mangle; policy accept;",
              ["iifname != \"lo\" ip daddr 127.0.0.0/8 drop"])

        // DNAT, for traffic from outside and from guests (prerouting) and from the host itself (output).
        // Guests of isolated networks get none: a forward or floating IP would lead them out.
        let isolated = networks.filter { $0.rules.mode == .isolated }
        let isolatedBridges = isolated.map { "\"\($0.rules.bridge)\"" }
        chain("prerouting", hook: "type nat hook prerouting priority dstnat; policy accept;",
              (isolated.isEmpty ? [] : ["iifname { \(isolatedBridges.joined(separator: ", ")) } accept"]) + ["jump dnat_rules"])
        chain("output", hook: "type nat hook output priority -100; policy accept;", ["jump dnat_rules"])
        var dnat: [String] = []
        // Floating IPs first: their addresses are local too, so `fib daddr type local` would match them.
        if !plan.floatingIPs.isEmpty { dnat.append("dnat ip to ip daddr map @fip_dnat") }
        for proto in TransportProtocol.allCases where !forwardsOn(proto, false).isEmpty {
            dnat.append("dnat ip to ip daddr . \(proto.rawValue) dport map @pf_\(proto.rawValue)")
        }
        for proto in TransportProtocol.allCases where !forwardsOn(proto, true).isEmpty {
            dnat.append("fib daddr type local dnat ip to \(proto.rawValue) dport map @pf_any_\(proto.rawValue)")
        }
        chain("dnat_rules", dnat)

        // SNAT. NAT statements end the chain, so order matters.
        var snat: [String] = []
        for net in networks where net.rules.mode != .isolated {
            let bridge = "\"\(net.rules.bridge)\""
            // Connections the host made to a forward or floating IP (127.0.0.1:2222, its own address):
            // the guest answers the gateway, and a 127.0.0.1 source could not leave through the bridge.
            snat.append("oifname \(bridge) ct status dnat fib saddr type local snat ip to \(net.rules.gateway)")
            // Hairpin: a guest reaching a sibling through the host's forward or floating IP; without
            // SNAT the sibling would answer directly, from an address the caller did not connect to.
            snat.append("oifname \(bridge) ct status dnat ip saddr \(net.rules.subnet) snat ip to \(net.rules.gateway)")
        }
        if !plan.floatingIPs.isEmpty { snat.append("snat ip to ip saddr . oifname map @fip_snat") }
        // nat networks leave masqueraded, except towards other vmctl bridges (routers route, not NAT).
        if networks.contains(where: { $0.rules.mode == .nat }) {
            snat.append("ip saddr @nat_subnets oifname != @bridges masquerade")
        }
        chain("postrouting", hook: "type nat hook postrouting priority srcnat; policy accept;", snat)

        // Filter. Policy accept: only vmctl bridges' traffic is decided here (see the type's comment).
        var forward = ["ct state established,related accept"]
        // Isolated guests reach each other only (with br_netfilter, their bridge's own traffic comes here
        // too); nothing leaves the bridge, not even to a forward's or floating IP's target.
        forward += isolated.map { "iifname \"\($0.rules.bridge)\" oifname != \"\($0.rules.bridge)\" drop" }
        // A port forward allows its own port, whatever the guest's groups. Floating-IP traffic to the
        // same guest port does not count: it goes through the groups.
        let forwardedPort = "ct status dnat ip daddr . meta l4proto . th dport @pf_targets ct original ip daddr != @fip_addrs accept"
        if !plan.forwards.isEmpty { forward.append(forwardedPort) }
        if !networks.isEmpty {
            forward.append("oifname vmap { " + networks.map { "\"\($0.rules.bridge)\" : goto to_\($0.index)" }.joined(separator: ", ") + " }")
            forward.append("iifname vmap { " + networks.map { "\"\($0.rules.bridge)\" : goto from_\($0.index)" }.joined(separator: ", ") + " }")
        }
        chain("forward", hook: "type filter hook forward priority filter; policy accept;", forward)

        for net in networks {
            let rules = net.rules
            let bridge = "\"\(rules.bridge)\""
            // Entering the network (new connections; replies were accepted above).
            var to = ["iifname \(bridge) accept", "ct state invalid drop"]
            if rules.mode != .isolated {
                if !plan.floatingIPs.isEmpty {
                    to.append("ct status dnat ct original ip daddr @fip_addrs goto sg_ingress")
                }
                if !net.peers.isEmpty {
                    to.append("iifname { " + net.peers.map { "\"\($0)\"" }.joined(separator: ", ") + " } goto sg_ingress")
                }
            }
            switch rules.mode {
            case .nat, .isolated:
                to.append("drop")
            case .routed:
                // Other vmctl networks only through a router; the host's neighbours subject to groups.
                to.append("iifname @bridges drop")
                to.append("goto sg_ingress")
            }
            chain("to_\(net.index)", comment: "network \(rules.name) (\(rules.mode.rawValue)), into the bridge", to)

            // Leaving the network for anything but a vmctl bridge.
            let from = rules.mode == .isolated ? ["drop"] : ["ip saddr != \(rules.subnet) drop", "accept"]
            chain("from_\(net.index)", comment: "network \(rules.name) (\(rules.mode.rawValue)), out of the bridge", from)
        }

        // The host's own processes are one more source entering each network, under the same rules as a
        // neighbour: nothing new into nat or isolated networks, routed guests and floating IPs only where
        // the destination's groups allow, a forward's port because the forward allows it. Besides
        // replies, only DHCP answers from the network's gateway (dnsmasq) and vmctl's management group
        // (its readiness probes and `vmctl ssh`, any guest, any port) are let out to the bridges.
        // Matched by destination, not by `oifname`: for a connection DNAT'd in `output` (a floating IP or
        // forward the host itself uses), the hook still names the first route's interface (lo).
        if !networks.isEmpty {
            var out = ["ip daddr != @subnets accept", "fib daddr type local accept", "ct state established,related accept",
                       "ip saddr @gateways udp sport 67 udp dport 68 accept"]
            if let gid = plan.managementGroup { out.append("meta skgid \(gid) accept") }
            if !plan.forwards.isEmpty { out.append(forwardedPort) }
            // `to_N` decides as for forwarded traffic; its `iifname` rules never match the host's own packets.
            out.append("ip daddr vmap { " + networks.map { "\($0.rules.subnet) : goto to_\($0.index)" }.joined(separator: ", ") + " }")
            chain("host_out", hook: "type filter hook output priority filter; policy accept;", out)
        }

        // Isolated guests reach the host for their network's DHCP (client to server) and DNS only.
        if !isolated.isEmpty {
            var input = ["iifname != { \(isolatedBridges.joined(separator: ", ")) } accept", "ct state established,related accept",
                         "udp sport 68 udp dport 67 accept"]
            input += isolated.map { "iifname \"\($0.rules.bridge)\" ip daddr \($0.rules.gateway) meta l4proto { tcp, udp } th dport 53 accept" }
            input.append("drop")
            chain("host_in", hook: "type filter hook input priority filter; policy accept;", input)
        }

        // Security groups: the union of the destination guest's groups' rules; nothing else.
        chain("sg_ingress", plan.groups.map { "ip daddr @\($0.setName) jump \($0.chainName)" } + ["drop"])
        for group in plan.groups {
            chain(group.chainName, comment: "security group \(group.name)", group.rules.map { rule($0) })
        }
        line(0, "}")
        buildBridgeTable()
    }

    /// Anti-spoofing, on the bridges themselves (family bridge sees guest-to-guest frames that never reach
    /// the ip hooks): a running guest's port may send only from its own MAC and its reserved addresses,
    /// DHCP requests, and ARP for those addresses; anything else from it is dropped (other addresses,
    /// another MAC, DHCP answers, IPv6, VLAN tags). Ports are matched by name; the kernel here has no
    /// `meta ibrname`, so a port that no running guest owns yet (a tap libvirt just plugged) is left alone
    /// until the reconcile its creation triggers (libvirt's `port-created` hook and `vmctl start`).
    private mutating func buildBridgeTable() {
        let table = "\(FirewallRenderer.bridgeFamily) \(FirewallRenderer.tableName)"
        line(0, "table \(table) {")
        line(1, "comment \(quoted("vmctl: each running guest's bridge port pinned to its MAC and addresses"))")
        set("ports", "type ifname", plan.ports.map { "\"\($0.port)\"" })
        set("port_macs", "type ifname . ether_addr", plan.ports.map { "\"\($0.port)\" . \($0.mac)" })
        set("port_addrs", "type ifname . ipv4_addr", plan.ports.flatMap { port in port.addresses.map { "\"\(port.port)\" . \($0)" } })
        chain("prerouting", hook: "type filter hook prerouting priority filter; policy accept;", ["iifname @ports jump guest_port"])
        chain("guest_port", [
            "iifname . ether saddr != @port_macs drop",
            // Only the host's dnsmasq answers DHCP.
            "udp sport 67 drop",
            "ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept",
            "iifname . ip saddr @port_addrs accept",
            "iifname . arp saddr ether @port_macs iifname . arp saddr ip @port_addrs accept",
            // Address conflict probes (RFC 5227) claim no address.
            "iifname . arp saddr ether @port_macs arp saddr ip 0.0.0.0 accept",
            "drop",
        ])
        line(0, "}")
    }

    private func rule(_ rule: SecurityGroup.Rule) -> String {
        var parts: [String] = []
        switch rule.remote {
        case .cidr(let subnet) where subnet.prefix > 0: parts.append("ip saddr \(subnet)")
        case .group(let name): parts.append("ip saddr @sg_\(plan.groupIndex(name))_members")
        case .cidr, nil: break
        }
        switch (rule.proto, rule.ports) {
        case (.icmp, _): parts.append("meta l4proto icmp")
        case (let proto, nil): parts.append("meta l4proto \(proto.rawValue)")
        case (let proto, let ports?):
            let range = ports.lowerBound == ports.upperBound ? "\(ports.lowerBound)" : "\(ports.lowerBound)-\(ports.upperBound)"
            parts.append("\(proto.rawValue) dport \(range)")
        }
        parts.append("accept comment \(quoted("rule \(rule.id)"))")
        return parts.joined(separator: " ")
    }
}

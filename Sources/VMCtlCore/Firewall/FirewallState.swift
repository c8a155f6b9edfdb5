/// Everything vmctl's firewall depends on, gathered from libvirt (networks, domains and their vmctl
/// metadata). The rule set is a pure function of this value (`FirewallRenderer`), so it can be tested
/// without a daemon and re-applied identically by anyone at any time.
public struct FirewallState: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var version: Int = FirewallState.currentVersion
    public var networks: [NetworkRules]
    public var forwards: [PortForward]
    public var floatingIPs: [FloatingIPBinding]
    public var securityGroups: [SecurityGroup]
    /// Guests with their addresses and groups (a guest in no group is in `default`).
    public var guests: [Guest]
    public var routers: [Router]
    /// Group id whose sockets may reach every guest, whatever its network's mode and groups (vmctl's
    /// management channel); nil: none.
    public var managementGroup: UInt32?
    /// The bridge ports (taps) of running guests on vmctl's networks, each pinned to its MAC and addresses.
    public var ports: [GuestPort] = []

    public init(networks: [NetworkRules] = [], forwards: [PortForward] = [], floatingIPs: [FloatingIPBinding] = [],
                securityGroups: [SecurityGroup] = [], guests: [Guest] = [], routers: [Router] = [],
                managementGroup: UInt32? = nil, ports: [GuestPort] = []) {
        self.networks = networks
        self.forwards = forwards
        self.floatingIPs = floatingIPs
        self.securityGroups = securityGroups
        self.guests = guests
        self.routers = routers
        self.managementGroup = managementGroup
        self.ports = ports
    }
}

/// An Ethernet unicast address, `52:54:00:12:34:56`, always lower case.
public struct MACAddress: Codable, Sendable, Hashable, CustomStringConvertible {
    public let description: String

    public init(_ text: String) throws {
        let octets = text.split(separator: ":", omittingEmptySubsequences: false)
        guard octets.count == 6, octets.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) && $0.allSatisfy(\.isASCII) }),
              let first = UInt8(octets[0], radix: 16) else {
            throw VMCtlError("invalid MAC address '\(ResourceName.printable(text))': use six hex pairs like 52:54:00:12:34:56")
        }
        // A group (multicast or broadcast) address never identifies one guest's port.
        guard first & 1 == 0 else { throw VMCtlError("invalid MAC address '\(text)': not a unicast address") }
        description = text.lowercased()
    }

    public init(from decoder: Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A running guest's bridge port (its tap, libvirt's interface target): the only MAC and the only
/// addresses traffic entering the bridge from it may carry.
public struct GuestPort: Codable, Sendable, Equatable {
    public var vm: String
    public var network: String
    /// The tap's name (`vnet3`), as libvirt reports it in the running domain's `<target dev>`.
    public var port: String
    public var mac: MACAddress
    /// The addresses reserved for this MAC on the network (empty: only DHCP requests pass).
    public var addresses: [IPv4Address]

    public init(vm: String, network: String, port: String, mac: MACAddress, addresses: [IPv4Address]) {
        self.vm = vm
        self.network = network
        self.port = port
        self.mac = mac
        self.addresses = addresses
    }
}

/// An IPv4 subnet in CIDR form, normalised to its network address.
public struct IPv4Subnet: Codable, Sendable, Hashable, CustomStringConvertible {
    public let network: IPv4Address
    public let prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(String(parts[0])), let prefix = Int(parts[1]),
              (0...32).contains(prefix), parts[1].allSatisfy(\.isNumber) else { return nil }
        self.init(address: address, prefix: prefix)
    }

    public init(address: IPv4Address, prefix: Int) {
        self.prefix = prefix
        self.network = IPv4Address(value: address.value & Self.mask(prefix))
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix) }
    public var mask: UInt32 { Self.mask(prefix) }
    public var description: String { "\(network)/\(prefix)" }
    public func contains(_ address: IPv4Address) -> Bool { address.value & mask == network.value }
    public func overlaps(_ other: IPv4Subnet) -> Bool {
        let common = Self.mask(min(prefix, other.prefix))
        return network.value & common == other.network.value & common
    }
    /// Ranges that are never a network of guests nor a floating address: the kernel treats them specially
    /// (loopback, this host, link-local, multicast, reserved and the limited broadcast), so routing and
    /// firewall rules for them would not mean what they say, and a guest on one could pose as what it is not.
    public static let specialUseRanges: [(range: IPv4Subnet, name: String)] = [
        (0x0000_0000, 8, "\"this host\" (0.0.0.0/8)"), (0x7f00_0000, 8, "loopback (127.0.0.0/8)"),
        (0xa9fe_0000, 16, "link-local (169.254.0.0/16)"), (0xe000_0000, 4, "multicast (224.0.0.0/4)"),
        (0xf000_0000, 4, "reserved (240.0.0.0/4, with 255.255.255.255)"),
    ].map { (IPv4Subnet(address: IPv4Address(value: $0.0), prefix: $0.1), $0.2) }

    /// The name of the special-use range `self` overlaps, or nil.
    public var specialUse: String? { Self.specialUseRanges.first { overlaps($0.range) }?.name }

    public var first: IPv4Address { IPv4Address(value: network.value + (prefix < 31 ? 1 : 0)) }
    public var last: IPv4Address { IPv4Address(value: (network.value | ~mask) - (prefix < 31 ? 1 : 0)) }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let subnet = IPv4Subnet(text) else { throw VMCtlError("invalid subnet '\(text)': use CIDR like 10.0.0.0/24") }
        self = subnet
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension IPv4Address: Codable {
    public init(value: UInt32) { self.init(unchecked: value) }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPv4Address(text) else { throw VMCtlError("invalid IPv4 address '\(text)'") }
        self = address
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

public enum NetworkMode: String, Codable, Sendable, CaseIterable {
    /// Guests reach out through the host (masquerade); nothing reaches them unless forwarded or floated.
    case nat
    /// The host and routed neighbours reach guest addresses directly (subject to security groups).
    case routed
    /// Guests reach each other only.
    case isolated
}

public struct NetworkRules: Codable, Sendable, Equatable {
    public var name: String
    public var bridge: String
    public var subnet: IPv4Subnet
    public var gateway: IPv4Address
    public var mode: NetworkMode

    public init(name: String, bridge: String, subnet: IPv4Subnet, gateway: IPv4Address, mode: NetworkMode) {
        self.name = name
        self.bridge = bridge
        self.subnet = subnet
        self.gateway = gateway
        self.mode = mode
    }
}

public enum TransportProtocol: String, Codable, Sendable, CaseIterable { case tcp, udp }

/// VirtualBox-style NAT port forwarding: hostAddress:hostPort → guest:guestPort.
public struct PortForward: Codable, Sendable, Equatable {
    public var name: String
    public var vm: String
    public var proto: TransportProtocol
    /// nil: every address of the host (VirtualBox's empty host IP).
    public var hostAddress: IPv4Address?
    public var hostPort: UInt16
    public var guestAddress: IPv4Address
    public var guestPort: UInt16
    /// The network (bridge) the guest is on.
    public var network: String

    public init(name: String, vm: String, proto: TransportProtocol, hostAddress: IPv4Address?, hostPort: UInt16,
                guestAddress: IPv4Address, guestPort: UInt16, network: String) {
        self.name = name
        self.vm = vm
        self.proto = proto
        self.hostAddress = hostAddress
        self.hostPort = hostPort
        self.guestAddress = guestAddress
        self.guestPort = guestPort
        self.network = network
    }
}

/// OpenStack-style floating IP: `address` on the host's `interface` stands for the guest 1:1.
public struct FloatingIPBinding: Codable, Sendable, Equatable {
    public var address: IPv4Address
    public var interface: String
    public var vm: String
    public var guestAddress: IPv4Address
    public var network: String

    public init(address: IPv4Address, interface: String, vm: String, guestAddress: IPv4Address, network: String) {
        self.address = address
        self.interface = interface
        self.vm = vm
        self.guestAddress = guestAddress
        self.network = network
    }
}

public struct SecurityGroup: Codable, Sendable, Equatable {
    public enum RuleProtocol: String, Codable, Sendable, CaseIterable { case tcp, udp, icmp }

    public enum Remote: Codable, Sendable, Equatable {
        case cidr(IPv4Subnet)
        case group(String)
    }

    /// An ingress rule (OpenStack semantics: stateful, replies always pass).
    public struct Rule: Codable, Sendable, Equatable {
        public var id: String
        public var proto: RuleProtocol
        /// nil: every port (always nil for icmp).
        public var ports: ClosedRange<UInt16>?
        /// nil: from anywhere.
        public var remote: Remote?

        public init(id: String, proto: RuleProtocol, ports: ClosedRange<UInt16>?, remote: Remote?) {
            self.id = id
            self.proto = proto
            self.ports = ports
            self.remote = remote
        }
    }

    public static let defaultName = "default"

    public var name: String
    public var rules: [Rule]
    /// The lab (fleet files) that created the group; nil for groups made by hand.
    public var lab: String? = nil

    public init(name: String, rules: [Rule]) {
        self.name = name
        self.rules = rules
    }

    /// OpenStack's default group: members may reach each other, nothing else comes in.
    public static var defaultGroup: SecurityGroup {
        SecurityGroup(name: defaultName, rules: SecurityGroup.RuleProtocol.allCases.map {
            Rule(id: "default-\($0.rawValue)", proto: $0, ports: nil, remote: .group(defaultName))
        })
    }
}

public struct Guest: Codable, Sendable, Equatable {
    public var vm: String
    public var address: IPv4Address
    public var network: String
    public var groups: [String]

    public init(vm: String, address: IPv4Address, network: String, groups: [String]) {
        self.vm = vm
        self.address = address
        self.network = network
        self.groups = groups
    }
}

/// Joins networks: their guests reach each other (still subject to security groups).
public struct Router: Codable, Sendable, Equatable {
    public var name: String
    public var networks: [String]
    /// The lab (fleet files) that created the router; nil for routers made by hand.
    public var lab: String? = nil

    public init(name: String, networks: [String]) {
        self.name = name
        self.networks = networks
    }
}

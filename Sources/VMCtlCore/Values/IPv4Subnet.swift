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

    /// A CIDR that names its network exactly (`198.51.100.0/24`, not `198.51.100.7/24`): where a user
    /// names whom a rule admits, a host address with a prefix is more likely a mistake than a network.
    public init(networkCIDR text: String, what: String) throws {
        guard let subnet = IPv4Subnet(text), IPv4Address(String(text.split(separator: "/")[0])) == subnet.network else {
            throw VMCtlError.invalid("invalid \(what) '\(ResourceName.printable(text))': use e.g. 198.51.100.0/24")
        }
        self = subnet
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
        guard let subnet = IPv4Subnet(text) else { throw VMCtlError.invalid("invalid subnet '\(text)': use CIDR like 10.0.0.0/24") }
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
        guard let address = IPv4Address(text) else { throw VMCtlError.invalid("invalid IPv4 address '\(text)'") }
        self = address
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

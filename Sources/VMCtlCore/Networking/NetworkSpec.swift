import LibvirtXML

/// A network as the user describes it (`vmctl net create`, lab files).
public struct NetworkSpec: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var version: Int
    public var name: String
    public var subnet: IPv4Subnet
    public var gateway: IPv4Address
    public var dhcp: IPv4Range
    public var mode: NetworkMode
    /// DNS domain guests resolve each other in (default: the network's name).
    public var domain: String
    /// The lab (lab files) that creates and owns the network.
    public var lab: String? = nil

    /// Builds a spec from user text, filling in OpenStack-like defaults: the gateway is the subnet's
    /// first address and DHCP hands out the rest.
    public init(name: String, subnet subnetText: String, gateway gatewayText: String? = nil, dhcp dhcpText: String? = nil,
                mode: NetworkMode = .nat, domain: String? = nil) throws {
        try ResourceName.validate(name, kind: "network")
        try ControlStore.requireNotReserved(network: name)
        let subnet = try Self.parseSubnet(subnetText)
        try Self.requireGuestRange(subnet)
        guard (8...29).contains(subnet.prefix) else {
            throw VMCtlError.invalid("invalid subnet '\(subnetText)': use a prefix from /8 to /29")
        }
        let gateway: IPv4Address
        if let gatewayText {
            guard let parsed = IPv4Address(gatewayText) else { throw VMCtlError.invalid("invalid gateway '\(ResourceName.printable(gatewayText))': not an IPv4 address") }
            gateway = parsed
        } else {
            gateway = subnet.first
        }
        let dhcp: IPv4Range
        if let dhcpText {
            dhcp = try IPv4Range(parsing: dhcpText, what: "DHCP range")
        } else if gateway == subnet.first {
            dhcp = IPv4Range(start: IPv4Address(value: gateway.value + 1), end: subnet.last)
        } else {
            dhcp = IPv4Range(start: subnet.first, end: IPv4Address(value: gateway.value - 1))
        }
        self.version = Self.currentVersion
        self.name = name
        self.subnet = subnet
        self.gateway = gateway
        self.dhcp = dhcp
        self.mode = mode
        self.domain = domain ?? name
        try validate()
    }

    static func parseSubnet(_ text: String) throws -> IPv4Subnet {
        guard let subnet = IPv4Subnet(text) else {
            throw VMCtlError.invalid("invalid subnet '\(ResourceName.printable(text))': use CIDR, e.g. 10.10.0.0/24")
        }
        let given = IPv4Address(String(text.split(separator: "/")[0]))
        guard given == subnet.network else {
            throw VMCtlError.invalid("invalid subnet '\(text)': host bits are set (did you mean \(subnet)?)")
        }
        return subnet
    }

    static func requireGuestRange(_ subnet: IPv4Subnet) throws {
        if let range = subnet.specialUse {
            throw VMCtlError.invalid("invalid subnet '\(subnet)': it lies in the \(range) range; use a private range such as 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
        }
    }

    /// Checks the spec on its own: addresses inside the subnet and not clashing with each other.
    public func validate() throws {
        guard version == Self.currentVersion else { throw VMCtlError.invalid("unsupported network spec version \(version)") }
        try ResourceName.validate(name, kind: "network")
        try Self.requireGuestRange(subnet)
        try ControlStore.requireNotReserved(network: name)
        let broadcast = IPv4Address(value: subnet.network.value | ~subnet.mask)
        guard subnet.contains(gateway), gateway != subnet.network, gateway != broadcast else {
            throw VMCtlError.invalid("gateway \(gateway) is not a host address of \(subnet)")
        }
        guard subnet.contains(dhcp.start), subnet.contains(dhcp.end), dhcp.start != subnet.network, dhcp.end != broadcast else {
            throw VMCtlError.invalid("DHCP range \(dhcp) is not inside the host addresses of \(subnet)")
        }
        guard !dhcp.contains(gateway) else { throw VMCtlError.invalid("DHCP range \(dhcp) includes the gateway \(gateway)") }
        guard DNSName.isName(domain) else { throw VMCtlError.invalid("invalid DNS domain '\(ResourceName.printable(domain))'") }
    }

    /// Checks the spec against the host: no overlap with other networks or with the host's routes.
    public func validate(against networks: [(name: String, subnet: IPv4Subnet)], hostRoutes: [IPv4Subnet]) throws {
        if networks.contains(where: { $0.name == name }) { throw VMCtlError.alreadyExists("network", name) }
        if let clash = networks.first(where: { $0.subnet.overlaps(subnet) }) {
            throw VMCtlError.conflict("subnet \(subnet) overlaps network '\(clash.name)' (\(clash.subnet))")
        }
        if let route = hostRoutes.first(where: { $0.prefix > 0 && $0.overlaps(subnet) }) {
            throw VMCtlError.conflict("subnet \(subnet) overlaps the host route to \(route)")
        }
    }

    /// Linux interface names have at most 15 characters; short network names stay readable.
    public var bridgeName: String { Self.bridgeName(forNetwork: name) }

    static func bridgeName(forNetwork name: String) -> String {
        if name == VMCtlNames.defaultNetwork { return "vmctl0" }
        if name.count <= 12 { return "vm-\(name)" }
        let hash = name.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 }
        return "vm-" + String(String(hash, radix: 16).prefix(8))
    }

    public var metadata: NetworkMetadata { NetworkMetadata(mode: mode, lab: lab) }

    /// The libvirt definition: tuned for fast DHCP (STP off, no forward delay, dnsmasq no-ping).
    public var document: NetworkDocument {
        NetworkDocument(
            name: name,
            metadata: [metadata.element],
            forward: NetworkMetadata.libvirtForward(for: mode),
            bridgeName: bridgeName,
            stp: false,
            bridgeDelay: 0,
            domainName: domain,
            ipv4: .init(address: gateway.description, prefix: subnet.prefix,
                        dhcpRange: (dhcp.start.description, dhcp.end.description)),
            dnsmasqOptions: ["no-ping"])
    }
}

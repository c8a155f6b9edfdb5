/// libvirt network XML: a bridge, how it forwards, its IPv4 subnet with DHCP, and custom metadata.
public struct NetworkDocument: Sendable, Equatable {
    /// nil forward mode is an isolated network: guests reach each other only.
    /// `open`: libvirt routes and adds no firewall rules at all (the rules are someone else's job).
    public enum ForwardMode: String, Sendable { case nat, route, open }

    public struct DHCPHost: Sendable, Equatable {
        public var mac: String
        public var address: String
        public var name: String?
        public init(mac: String, address: String, name: String? = nil) {
            self.mac = mac
            self.address = address
            self.name = name
        }

        public var element: XML.Element {
            XML.Element("host", attributes: [("mac", mac), ("name", name), ("ip", address)])
        }
    }

    public struct IPv4: Sendable, Equatable {
        /// The host's (gateway) address on the bridge.
        public var address: String
        public var prefix: Int
        public var dhcpRange: (start: String, end: String)?
        public var hosts: [DHCPHost]

        public init(address: String, prefix: Int, dhcpRange: (start: String, end: String)?, hosts: [DHCPHost] = []) {
            self.address = address
            self.prefix = prefix
            self.dhcpRange = dhcpRange
            self.hosts = hosts
        }

        public static func == (lhs: IPv4, rhs: IPv4) -> Bool {
            lhs.address == rhs.address && lhs.prefix == rhs.prefix && lhs.hosts == rhs.hosts
                && lhs.dhcpRange?.start == rhs.dhcpRange?.start && lhs.dhcpRange?.end == rhs.dhcpRange?.end
        }
    }

    public static let dnsmasqNamespace = "http://libvirt.org/schemas/network/dnsmasq/1.0"

    public var name: String
    public var uuid: String?
    public var metadata: [XML.Element]
    public var forward: ForwardMode?
    public var bridgeName: String?
    public var stp: Bool
    public var bridgeDelay: Int
    public var domainName: String?
    public var ipv4: IPv4?
    /// Extra dnsmasq options (libvirt's dnsmasq XML namespace), e.g. `no-ping`.
    public var dnsmasqOptions: [String]

    public init(
        name: String, uuid: String? = nil, metadata: [XML.Element] = [], forward: ForwardMode?,
        bridgeName: String? = nil, stp: Bool = false, bridgeDelay: Int = 0, domainName: String? = nil,
        ipv4: IPv4?, dnsmasqOptions: [String] = []
    ) {
        self.name = name
        self.uuid = uuid
        self.metadata = metadata
        self.forward = forward
        self.bridgeName = bridgeName
        self.stp = stp
        self.bridgeDelay = bridgeDelay
        self.domainName = domainName
        self.ipv4 = ipv4
        self.dnsmasqOptions = dnsmasqOptions
    }

    public var element: XML.Element {
        var network = XML.Element(
            "network",
            attributes: [("xmlns:dnsmasq", dnsmasqOptions.isEmpty ? nil : Self.dnsmasqNamespace)])
        network.append(XML.Element("name", text: name))
        if let uuid { network.append(XML.Element("uuid", text: uuid)) }
        if !metadata.isEmpty { network.append(XML.Element("metadata", children: metadata.map(XML.Node.element))) }
        if let forward { network.append(XML.Element("forward", attributes: [("mode", forward.rawValue)])) }
        network.append(XML.Element("bridge", attributes: [
            ("name", bridgeName), ("stp", stp ? "on" : "off"), ("delay", String(bridgeDelay)),
        ]))
        if let domainName {
            network.append(XML.Element("domain", attributes: [("name", domainName), ("localOnly", "yes")]))
        }
        if let ipv4 {
            var ip = XML.Element("ip", attributes: [("address", ipv4.address), ("prefix", String(ipv4.prefix))])
            if ipv4.dhcpRange != nil || !ipv4.hosts.isEmpty {
                var dhcp = XML.Element("dhcp")
                if let range = ipv4.dhcpRange {
                    dhcp.append(XML.Element("range", attributes: [("start", range.start), ("end", range.end)]))
                }
                dhcp.append(contentsOf: ipv4.hosts.map(\.element))
                ip.append(dhcp)
            }
            network.append(ip)
        }
        if !dnsmasqOptions.isEmpty {
            network.append(XML.Element("dnsmasq:options", children: dnsmasqOptions.map {
                .element(XML.Element("dnsmasq:option", attributes: [("value", $0)]))
            }))
        }
        return network
    }

    public var xml: String { XMLWriter.render(element) }

    public init(xml: String) throws {
        let root = try XMLReader.parse(xml)
        guard root.name == "network" else { throw DocumentError("expected <network>, found <\(root.name)>") }
        let bridge = root.first("bridge")
        let ipElement = root.all("ip").first { ($0[attribute: "family"] ?? "ipv4") == "ipv4" }
        let ipv4 = ipElement.flatMap { ip -> IPv4? in
            guard let address = ip[attribute: "address"] else { return nil }
            let prefix = ip[attribute: "prefix"].flatMap { Int($0) }
                ?? ip[attribute: "netmask"].flatMap(Self.prefixLength(netmask:)) ?? 24
            let range = ip.first(path: "dhcp", "range").flatMap { r -> (String, String)? in
                guard let start = r[attribute: "start"], let end = r[attribute: "end"] else { return nil }
                return (start, end)
            }
            let hosts = (ip.first("dhcp")?.all("host") ?? []).compactMap { host -> DHCPHost? in
                guard let mac = host[attribute: "mac"], let address = host[attribute: "ip"] else { return nil }
                return DHCPHost(mac: mac, address: address, name: host[attribute: "name"])
            }
            return IPv4(address: address, prefix: prefix, dhcpRange: range, hosts: hosts)
        }
        let options = root.first("dnsmasq:options")?.all("dnsmasq:option").compactMap { $0[attribute: "value"] } ?? []
        self.init(
            name: try root.requiredText("name", in: "network"),
            uuid: root.optionalText("uuid"),
            metadata: root.first("metadata")?.elements ?? [],
            forward: root.first("forward").flatMap { ForwardMode(rawValue: $0[attribute: "mode"] ?? "nat") },
            bridgeName: bridge?[attribute: "name"],
            stp: (bridge?[attribute: "stp"] ?? "on") == "on",
            bridgeDelay: bridge?[attribute: "delay"].flatMap { Int($0) } ?? 0,
            domainName: root.first("domain")?[attribute: "name"],
            ipv4: ipv4,
            dnsmasqOptions: options
        )
    }

    static func prefixLength(netmask: String) -> Int? {
        let octets = netmask.split(separator: ".").compactMap { UInt8($0) }
        guard octets.count == 4 else { return nil }
        return octets.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    public func metadata(namespaceURI: String) -> XML.Element? {
        metadata.first { $0.declares(namespaceURI: namespaceURI) }
    }
}

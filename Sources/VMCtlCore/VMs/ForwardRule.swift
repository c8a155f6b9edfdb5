import LibvirtXML

/// A port forward as recorded on its VM (the guest address comes from the VM's pinned address).
public struct ForwardRule: Codable, Sendable, Equatable {
    public var name: String
    public var proto: TransportProtocol
    public var hostAddress: IPv4Address?
    public var hostPort: UInt16
    public var guestPort: UInt16

    public init(name: String, proto: TransportProtocol, hostAddress: IPv4Address?, hostPort: UInt16, guestPort: UInt16) {
        self.name = name
        self.proto = proto
        self.hostAddress = hostAddress
        self.hostPort = hostPort
        self.guestPort = guestPort
    }

    /// VirtualBox's `--natpf1 "name,proto,hostip,hostport,guestip,guestport"` (empty fields: defaults).
    public init(virtualBoxRule text: String) throws {
        let fields = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        guard fields.count == 6 else {
            throw VMCtlError.invalid("invalid rule '\(ResourceName.printable(text))': use name,proto,hostip,hostport,guestip,guestport")
        }
        guard let proto = TransportProtocol(rawValue: fields[1].lowercased()) else {
            throw VMCtlError.invalid("invalid protocol '\(ResourceName.printable(fields[1]))' in rule: use tcp or udp")
        }
        let hostAddress: IPv4Address?
        if fields[2].isEmpty {
            hostAddress = nil
        } else {
            guard let address = IPv4Address(fields[2]) else { throw VMCtlError.invalid("invalid host IP '\(ResourceName.printable(fields[2]))' in rule") }
            hostAddress = address
        }
        guard fields[4].isEmpty || IPv4Address(fields[4]) != nil else {
            throw VMCtlError.invalid("invalid guest IP '\(ResourceName.printable(fields[4]))' in rule")
        }
        self.init(name: fields[0], proto: proto, hostAddress: hostAddress,
                  hostPort: try Port(parsing: fields[3], what: "host port").number,
                  guestPort: try Port(parsing: fields[5], what: "guest port").number)
    }

    /// Whether two forwards would claim the same host socket.
    func clashes(with other: ForwardRule) -> Bool {
        proto == other.proto && hostPort == other.hostPort
            && (hostAddress == nil || other.hostAddress == nil || hostAddress == other.hostAddress)
    }
}

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

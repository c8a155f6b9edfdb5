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

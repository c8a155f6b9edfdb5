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

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

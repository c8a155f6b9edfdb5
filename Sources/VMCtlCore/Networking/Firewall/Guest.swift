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

/// Joins networks: their guests reach each other (still subject to security groups).
public struct Router: Codable, Sendable, Equatable {
    public var name: String
    public var networks: [String]
    /// The lab (lab files) that created the router; nil for routers made by hand.
    public var lab: String? = nil

    public init(name: String, networks: [String]) {
        self.name = name
        self.networks = networks
    }
}

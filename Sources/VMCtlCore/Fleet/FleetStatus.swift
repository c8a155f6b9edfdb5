import Foundation

public struct FleetStatus: Codable, Sendable, Equatable {
    public let lab: String
    public let members: [FleetMemberStatus]
    public let objects: [FleetObjectStatus]
    /// Objects of the lab on its hosts that its files no longer describe (the next apply deletes them).
    public let leftOver: [String]
}

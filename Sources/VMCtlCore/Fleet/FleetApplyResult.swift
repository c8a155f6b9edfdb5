import Foundation

public struct FleetApplyResult: Sendable {
    public let plan: FleetPlan
    public let failures: [FleetFailure]
    public let seconds: Double
}

import Foundation

public struct LabApplyResult: Sendable {
    public let plan: LabPlan
    public let failures: [LabFailure]
    public let seconds: Double
}

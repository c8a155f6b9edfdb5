import Foundation

public struct LabStatus: Codable, Sendable, Equatable {
    public let lab: String
    public let members: [LabVMStatus]
    public let objects: [LabObjectStatus]
    /// Objects of the lab on its hosts that its files no longer describe (the next apply deletes them).
    public let leftOver: [String]
}

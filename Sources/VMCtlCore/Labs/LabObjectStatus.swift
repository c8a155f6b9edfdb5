import Foundation

/// Whether each non-domain object of the lab exists.
public struct LabObjectStatus: Codable, Sendable, Equatable {
    public let kind: String
    public let name: String
    public let uri: String
    public let present: Bool
}

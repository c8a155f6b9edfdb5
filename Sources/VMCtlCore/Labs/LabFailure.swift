import Foundation

/// One object whose change failed, and why.
public struct LabFailure: Sendable, Equatable, Codable {
    public let subject: String
    public let message: String
}

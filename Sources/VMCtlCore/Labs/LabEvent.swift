import Foundation

/// A line of progress from apply, destroy or snapshot: which object, and what happened to it.
public struct LabEvent: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case progress, done, failed
    }

    public let subject: String
    public let kind: Kind
    public let message: String
    /// Seconds since the run started.
    public let elapsed: Double
}

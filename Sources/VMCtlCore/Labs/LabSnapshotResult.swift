import Foundation

public struct LabSnapshotResult: Sendable {
    public let done: [String]
    public let failures: [LabFailure]
}

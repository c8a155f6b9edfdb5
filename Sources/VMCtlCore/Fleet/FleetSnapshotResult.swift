import Foundation

public struct FleetSnapshotResult: Sendable {
    public let done: [String]
    public let failures: [FleetFailure]
}

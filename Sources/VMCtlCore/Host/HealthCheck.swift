import Foundation
import Libvirt

/// One finding of `vmctl doctor`.
public struct HealthCheck: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case ok, warning, failure }
    public let check: String
    public let status: Status
    public let detail: String
}

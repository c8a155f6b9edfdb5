import Foundation

/// What `vmctl status` reports about one member of a lab.
public struct LabVMStatus: Codable, Sendable, Equatable {
    public let name: String
    public let uri: String
    /// `running`, `shut off`, … or `missing` (not created yet), or `foreign` (a VM of that name the lab does not own).
    public let state: String
    public let network: String
    public let address: String?
    public let forwards: [String]
    public let floatingIP: String?
    public let securityGroups: [String]
    public let readiness: [String]
    public let ready: Bool
    /// Why it is not ready, when it is not.
    public let problem: String?
}

import Foundation

/// One step of a plan: an object, what happens to it and why.
public struct FleetAction: Sendable, Equatable {
    public var kind: FleetKind
    public var name: String
    public var uri: String
    public var operation: FleetOperation
    /// What differs, in words (`memory 512M → 768M (live)`).
    public var changes: [String]

    public var network: FleetNetwork?
    public var router: FleetRouter?
    public var group: FleetSecurityGroup?
    public var pool: FleetPool?
    public var member: FleetMember?
    public var update = FleetDomainUpdate()
    /// Security group rules to add and rule ids to remove; router networks to join and leave.
    public var addRules: [FleetRule] = []
    public var removeRules: [String] = []
    public var joinNetworks: [String] = []
    public var leaveNetworks: [String] = []
    /// Addresses of a pool that apply releases: unassociated ones, or all the lab's before the pool is replaced.
    public var releaseAddresses: [IPv4Address] = []

    init(kind: FleetKind, name: String, uri: String, operation: FleetOperation, changes: [String] = []) {
        self.kind = kind
        self.name = name
        self.uri = uri
        self.operation = operation
        self.changes = changes
    }
}

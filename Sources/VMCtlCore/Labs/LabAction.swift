import Foundation

/// One step of a plan: an object, what happens to it and why.
public struct LabAction: Sendable, Equatable {
    public var name: String
    public var uri: String
    public var operation: LabOperation
    /// What differs, in words (`memory 512M → 768M (live)`).
    public var changes: [String]
    /// The object with what apply needs to bring it to the lab's files.
    public var subject: Subject

    /// Each kind of object carries exactly what its steps need.
    public enum Subject: Sendable, Equatable {
        /// `releasing`: addresses apply gives back — unassociated ones, or every one of a pool made again.
        case floatingIPPool(LabPool, releasing: [IPv4Address])
        case securityGroup(LabSecurityGroup, adding: [LabRule], removing: [String])
        case network(LabNetwork)
        case router(LabRouter, joining: [String], leaving: [String])
        case domain(LabVM, LabVMUpdate)
        /// What the lab made and its files no longer describe (or destroy removes): only its kind and name are
        /// left, and the floating addresses to give back with it (a pool's allocations, a VM's floating IP).
        case leftOver(LabKind, releasing: [IPv4Address])
    }

    init(_ subject: Subject, name: String, uri: String, operation: LabOperation, changes: [String] = []) {
        self.subject = subject
        self.name = name
        self.uri = uri
        self.operation = operation
        self.changes = changes
    }

    /// Deleting what the lab made: the one action a left-over object gets.
    static func deletion(_ kind: LabKind, _ name: String, uri: String, releasing: [IPv4Address] = []) -> LabAction {
        LabAction(.leftOver(kind, releasing: releasing), name: name, uri: uri, operation: .delete)
    }

    public var kind: LabKind {
        switch subject {
        case .floatingIPPool: .floatingIPPool
        case .securityGroup: .securityGroup
        case .network: .network
        case .router: .router
        case .domain: .domain
        case .leftOver(let kind, _): kind
        }
    }

    /// The member a domain action brings up (nil for every other action, and for deletions).
    public var member: LabVM? {
        if case .domain(let member, _) = subject { return member }
        return nil
    }

    /// Floating addresses to give back when this object is deleted or made again.
    var releasing: [IPv4Address] {
        switch subject {
        case .floatingIPPool(_, let addresses), .leftOver(_, let addresses): addresses
        case .domain(_, let update): update.releaseFloatingIP.map { [$0] } ?? []
        case .securityGroup, .network, .router: []
        }
    }
}

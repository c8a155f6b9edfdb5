import Crypto
import Foundation

/// The kinds of documents a lab file may hold.
public enum LabKind: String, Codable, Sendable, CaseIterable, Comparable {
    case lab = "Lab"
    case network = "Network"
    case router = "Router"
    case securityGroup = "SecurityGroup"
    case floatingIPPool = "FloatingIPPool"
    case domain = "Domain"

    /// The order apply creates objects in (and destroy deletes them in, reversed).
    var rank: Int {
        switch self {
        case .lab: 0
        case .floatingIPPool: 1
        case .securityGroup: 2
        case .network: 3
        case .router: 4
        case .domain: 5
        }
    }

    public static func < (lhs: LabKind, rhs: LabKind) -> Bool { lhs.rank < rhs.rank }

    /// How plan and status name the kind: `network`, `security-group`.
    public var label: String {
        switch self {
        case .lab: "lab"
        case .network: "network"
        case .router: "router"
        case .securityGroup: "security-group"
        case .floatingIPPool: "fip-pool"
        case .domain: "domain"
        }
    }
}

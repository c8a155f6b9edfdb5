public struct SecurityGroup: Codable, Sendable, Equatable {
    public enum RuleProtocol: String, Codable, Sendable, CaseIterable {
        case tcp, udp, icmp

        /// icmp has no ports: a rule that gave some would let in something other than it says.
        public func check(ports: PortRange?) throws {
            if self == .icmp, ports != nil { throw VMCtlError.invalid("icmp rules take no ports") }
        }
    }

    public enum Remote: Codable, Sendable, Equatable {
        case cidr(IPv4Subnet)
        case group(String)
    }

    /// An ingress rule (OpenStack semantics: stateful, replies always pass).
    public struct Rule: Codable, Sendable, Equatable {
        public var id: String
        public var proto: RuleProtocol
        /// nil: every port (always nil for icmp).
        public var ports: PortRange?
        /// nil: from anywhere.
        public var remote: Remote?

        public init(id: String, proto: RuleProtocol, ports: PortRange?, remote: Remote?) {
            self.id = id
            self.proto = proto
            self.ports = ports
            self.remote = remote
        }
    }

    public static let defaultName = "default"

    public var name: String
    public var rules: [Rule]
    /// The lab (lab files) that created the group; nil for groups made by hand.
    public var lab: String? = nil

    public init(name: String, rules: [Rule]) {
        self.name = name
        self.rules = rules
    }

    /// OpenStack's default group: members may reach each other, nothing else comes in.
    public static var defaultGroup: SecurityGroup {
        SecurityGroup(name: defaultName, rules: SecurityGroup.RuleProtocol.allCases.map {
            Rule(id: "default-\($0.rawValue)", proto: $0, ports: nil, remote: .group(defaultName))
        })
    }
}

import Crypto
import Foundation

/// An ingress rule as a lab describes it; rules are compared by what they allow, not by id.
public struct LabRule: Sendable, Equatable, CustomStringConvertible {
    public var proto: SecurityGroup.RuleProtocol
    public var ports: PortRange?
    public var remote: SecurityGroup.Remote?

    public init(proto: SecurityGroup.RuleProtocol, ports: PortRange?, remote: SecurityGroup.Remote?) {
        self.proto = proto
        self.ports = ports
        self.remote = remote
    }

    init(_ rule: SecurityGroup.Rule) { self.init(proto: rule.proto, ports: rule.ports, remote: rule.remote) }

    func matches(_ rule: SecurityGroup.Rule) -> Bool { self == LabRule(rule) }

    public var description: String {
        var text = proto.rawValue
        if let ports { text += "/\(ports)" }
        switch remote {
        case .cidr(let subnet)?: text += " from \(subnet)"
        case .group(let group)?: text += " from group \(group)"
        case nil: break
        }
        return text
    }
}

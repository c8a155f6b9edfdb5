import Crypto
import Foundation

/// The kinds of documents a fleet file may hold.
public enum FleetKind: String, Codable, Sendable, CaseIterable, Comparable {
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

    public static func < (lhs: FleetKind, rhs: FleetKind) -> Bool { lhs.rank < rhs.rank }

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

/// A name that refers to another object, with where it was written (for dangling-reference errors).
public struct FleetReference: Sendable, Equatable {
    public let name: String
    public let origin: FleetOrigin
}

public struct FleetNetwork: Sendable, Equatable {
    public var spec: NetworkSpec
    public var uri: String
    public var origin: FleetOrigin
}

public struct FleetRouter: Sendable, Equatable {
    public var name: String
    public var uri: String
    public var networks: [FleetReference]
    public var origin: FleetOrigin
}

/// An ingress rule as a lab describes it; rules are compared by what they allow, not by id.
public struct FleetRule: Sendable, Equatable, CustomStringConvertible {
    public var proto: SecurityGroup.RuleProtocol
    public var ports: ClosedRange<UInt16>?
    public var remote: SecurityGroup.Remote?

    public init(proto: SecurityGroup.RuleProtocol, ports: ClosedRange<UInt16>?, remote: SecurityGroup.Remote?) {
        self.proto = proto
        self.ports = ports
        self.remote = remote
    }

    init(_ rule: SecurityGroup.Rule) { self.init(proto: rule.proto, ports: rule.ports, remote: rule.remote) }

    func matches(_ rule: SecurityGroup.Rule) -> Bool { self == FleetRule(rule) }

    public var description: String {
        var text = proto.rawValue
        if let ports { text += ports.lowerBound == ports.upperBound ? "/\(ports.lowerBound)" : "/\(ports.lowerBound)-\(ports.upperBound)" }
        switch remote {
        case .cidr(let subnet)?: text += " from \(subnet)"
        case .group(let group)?: text += " from group \(group)"
        case nil: break
        }
        return text
    }
}

public struct FleetSecurityGroup: Sendable, Equatable {
    public var name: String
    public var uri: String
    public var rules: [FleetRule]
    public var ruleOrigins: [FleetOrigin]
    public var origin: FleetOrigin
}

public struct FleetPool: Sendable, Equatable {
    public var name: String
    public var uri: String
    public var interface: String
    public var range: IPv4Range
    public var origin: FleetOrigin
}

/// The path of an HTTP readiness check. It goes into the request line vmctl writes (`GET PATH HTTP/1.0`),
/// so only what RFC 3986 allows in a path and query gets in: no space, CR, LF or other control byte that
/// would end the line or add headers.
public struct HTTPPath: Sendable, Equatable, CustomStringConvertible {
    public static let maximumLength = 1024
    static let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:@/?".utf8)

    public let text: String

    public init(_ text: String) throws {
        guard text.hasPrefix("/"), text.utf8.count <= Self.maximumLength, text.utf8.allSatisfy(Self.allowed.contains) else {
            throw VMCtlError("invalid readiness path '\(ResourceName.printable(String(text.prefix(60))))': use /PATH of at most \(Self.maximumLength) URL characters (no spaces or control characters)")
        }
        self.text = text
    }

    public var description: String { text }
}

/// When a member counts as up.
public enum FleetReadiness: Sendable, Equatable, CustomStringConvertible {
    /// The guest answers on its address (its network stack replies).
    case ip
    /// Its SSH server accepts connections.
    case ssh
    case tcp(UInt16)
    /// An HTTP GET of the path gets a 2xx or 3xx answer.
    case http(UInt16, HTTPPath)

    public init(parsing text: String) throws {
        let lower = text.lowercased()
        if lower == "ip" { self = .ip; return }
        if lower == "ssh" { self = .ssh; return }
        if lower.hasPrefix("tcp:") {
            self = .tcp(try ForwardRule.port(String(text.dropFirst(4)), what: "readiness port"))
            return
        }
        if lower.hasPrefix("http:") {
            let rest = text.dropFirst(5)
            let portText = rest.prefix { $0 != "/" }
            let path = rest.dropFirst(portText.count)
            self = .http(try ForwardRule.port(String(portText), what: "readiness port"), try HTTPPath(path.isEmpty ? "/" : String(path)))
            return
        }
        throw VMCtlError("invalid readiness check '\(ResourceName.printable(text))': use ip, ssh, tcp:PORT or http:PORT/PATH")
    }

    public var description: String {
        switch self {
        case .ip: "ip"
        case .ssh: "ssh"
        case .tcp(let port): "tcp:\(port)"
        case .http(let port, let path): "http:\(port)\(path)"
        }
    }
}

/// Whether a member should be running.
public enum FleetPowerState: String, Sendable, Codable {
    case running
    case stopped
}

/// One VM of a lab: a Domain document with `count: N` gives N members, `NAME-1` … `NAME-N`.
public struct FleetMember: Sendable, Equatable {
    public var name: String
    public var uri: String
    /// The Domain document's name and where it was written.
    public var domain: String
    public var origin: FleetOrigin
    public var image: String
    public var flavor: String?
    public var cpus: Int
    public var memory: ByteSize
    public var disk: ByteSize
    public var accel: AcceleratorPreference
    public var state: FleetPowerState
    public var network: FleetReference
    public var address: IPv4Address?
    public var addressOrigin: FleetOrigin?
    public var forwards: [ForwardRule]
    public var forwardOrigins: [FleetOrigin]
    public var floatingPool: FleetReference?
    public var securityGroups: [FleetReference]
    public var sshKeys: [String]
    public var runCommands: [String]
    public var readiness: [FleetReadiness]

    /// What cannot change without making the VM again: its image, network, address, accelerator, keys and
    /// first-boot commands. Recorded in the VM's metadata; a different digest means replace.
    public var digest: String {
        let parts: [String] = ["image=" + image, "network=" + network.name, "address=" + (address?.description ?? ""),
                               "accel=" + accel.rawValue] + sshKeys.map { "key=" + $0 } + runCommands.map { "run=" + $0 }
        let hash = SHA256.hash(data: Data(parts.joined(separator: "\n").utf8))
        return hash.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The spec `Instances.create` makes it from.
    public func instanceSpec(lab: String) throws -> InstanceSpec {
        var spec = try InstanceSpec(name: name, image: image, flavor: flavor, cpus: cpus, memory: memory, disk: disk,
                                    network: network.name, sshAuthorizedKeys: sshKeys, accel: accel, runCommands: runCommands)
        spec.address = address
        spec.lab = LabOwnership(name: lab, digest: digest)
        return spec
    }
}

/// A lab: every object its files describe, each with the libvirt connection it lives on.
public struct FleetLab: Sendable, Equatable {
    public var name: String
    public var origin: FleetOrigin
    /// Every file read, in order.
    public var files: [String]
    public var networks: [FleetNetwork] = []
    public var routers: [FleetRouter] = []
    public var securityGroups: [FleetSecurityGroup] = []
    public var pools: [FleetPool] = []
    public var members: [FleetMember] = []
    /// Connections named by no object but used by default (the Lab's `uri`, else the command's).
    public var defaultURI: String

    /// Every connection the lab touches, the default first.
    public var uris: [String] {
        var seen: [String] = [defaultURI]
        for uri in networks.map(\.uri) + routers.map(\.uri) + securityGroups.map(\.uri) + pools.map(\.uri) + members.map(\.uri)
        where !seen.contains(uri) { seen.append(uri) }
        return seen
    }

    /// The part of the lab that lives on one connection.
    public func on(_ uri: String) -> FleetLab {
        var part = self
        part.networks = networks.filter { $0.uri == uri }
        part.routers = routers.filter { $0.uri == uri }
        part.securityGroups = securityGroups.filter { $0.uri == uri }
        part.pools = pools.filter { $0.uri == uri }
        part.members = members.filter { $0.uri == uri }
        part.defaultURI = uri
        return part
    }
}

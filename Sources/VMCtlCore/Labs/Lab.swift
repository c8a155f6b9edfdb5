import Crypto
import Foundation

/// A lab: every object its files describe, each with the libvirt connection it lives on.
public struct Lab: Sendable, Equatable {
    public var name: String
    public var origin: LabOrigin
    /// Every file read, in order.
    public var files: [String]
    public var networks: [LabNetwork] = []
    public var routers: [LabRouter] = []
    public var securityGroups: [LabSecurityGroup] = []
    public var pools: [LabPool] = []
    public var members: [LabVM] = []
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
    public func on(_ uri: String) -> Lab {
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

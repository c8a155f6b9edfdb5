import Foundation
import Libvirt
import LibvirtXML

/// Objects that belong to no single VM or network: floating IP pools, security groups, routers.
public struct ControlState: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var version = ControlState.currentVersion
    public var pools: [FloatingIPPool] = []
    public var securityGroups: [SecurityGroup] = []
    public var routers: [Router] = []

    public init() {}

    /// Groups as the firewall sees them: `default` always exists, with OpenStack's default rules unless edited.
    public var effectiveGroups: [SecurityGroup] {
        securityGroups.contains { $0.name == SecurityGroup.defaultName } ? securityGroups : [SecurityGroup.defaultGroup] + securityGroups
    }
}

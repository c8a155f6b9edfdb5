/// Everything vmctl's firewall depends on, gathered from libvirt (networks, domains and their vmctl
/// metadata). The rule set is a pure function of this value (`FirewallRenderer`), so it can be tested
/// without a daemon and re-applied identically by anyone at any time.
public struct FirewallState: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var version: Int = FirewallState.currentVersion
    public var networks: [NetworkRules]
    public var forwards: [PortForward]
    public var floatingIPs: [FloatingIPBinding]
    public var securityGroups: [SecurityGroup]
    /// Guests with their addresses and groups (a guest in no group is in `default`).
    public var guests: [Guest]
    public var routers: [Router]
    /// Group id whose sockets may reach every guest, whatever its network's mode and groups (vmctl's
    /// management channel); nil: none.
    public var managementGroup: UInt32?
    /// The bridge ports (taps) of running guests on vmctl's networks, each pinned to its MAC and addresses.
    public var ports: [GuestPort] = []

    public init(networks: [NetworkRules] = [], forwards: [PortForward] = [], floatingIPs: [FloatingIPBinding] = [],
                securityGroups: [SecurityGroup] = [], guests: [Guest] = [], routers: [Router] = [],
                managementGroup: UInt32? = nil, ports: [GuestPort] = []) {
        self.networks = networks
        self.forwards = forwards
        self.floatingIPs = floatingIPs
        self.securityGroups = securityGroups
        self.guests = guests
        self.routers = routers
        self.managementGroup = managementGroup
        self.ports = ports
    }
}

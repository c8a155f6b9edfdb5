import Libvirt
import LibvirtXML

/// What the firewall is computed from, as read from libvirt: vmctl's networks and their pinned addresses,
/// its VMs with their metadata, and the control state. A change is staged on a copy of this value and
/// rendered before anything is saved (`Firewall.commit`).
public struct FirewallInputs: Sendable, Equatable {
    public struct Pin: Sendable, Equatable {
        public var network: String
        public var address: IPv4Address
    }

    public struct VM: Sendable, Equatable {
        public var name: String
        /// The first interface's MAC, lowercased (nil: no interface).
        public var mac: String?
        public var metadata: VMMetadata
    }

    public var networks: [NetworkRules] = []
    /// Reserved addresses by MAC (lowercased).
    public var pins: [String: Pin] = [:]
    public var vms: [VM] = []
    /// Domains that exist but were not made by vmctl (named in errors, never changed).
    public var foreignVMs: Set<String> = []
    /// VMs whose vmctl metadata cannot be read in full, with the reason: their rules are left out (with a
    /// warning) and no change is committed while they are (a port-clash check cannot see their forwards).
    public var unreadableVMs: [String: String] = [:]
    /// Every reserved address of a MAC on a network: what its bridge port may send as.
    public var reservations: [PortKey: [IPv4Address]] = [:]
    /// The taps of running domains on vmctl's networks, whoever defined them.
    public var livePorts: [LivePort] = []
    public var control = ControlState()
    public var managementGroup: UInt32?

    public struct PortKey: Hashable, Sendable {
        public var network: String
        /// Lowercased.
        public var mac: String
    }

    public struct LivePort: Sendable, Equatable {
        public var vm: String
        public var network: String
        public var tap: String
        public var mac: MACAddress
    }

    public init() {}
}

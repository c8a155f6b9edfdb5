import Foundation
import Libvirt
import LibvirtXML

/// What one libvirt connection holds that a lab plan compares against: plain values, so plans are pure.
public struct LabObserved: Sendable, Equatable {
    public struct Domain: Sendable, Equatable {
        public var name: String
        /// Made by vmctl (has vmctl's metadata).
        public var managed: Bool
        public var lab: LabOwnership?
        public var running: Bool
        public var cpus: Int
        public var memory: ByteSize
        /// The ceilings the domain was defined with (live changes stay under them).
        public var maxCPUs: Int
        public var maxMemory: ByteSize
        public var disk: ByteSize?
        public var network: String?
        public var mac: String?
        public var address: IPv4Address?
        public var forwards: [ForwardRule]
        public var securityGroups: [String]

        public init(name: String, managed: Bool = true, lab: LabOwnership?, running: Bool, cpus: Int, memory: ByteSize,
                    maxCPUs: Int? = nil, maxMemory: ByteSize? = nil,
                    disk: ByteSize?, network: String?, mac: String? = nil, address: IPv4Address?,
                    forwards: [ForwardRule] = [], securityGroups: [String] = []) {
            self.maxCPUs = maxCPUs ?? max(cpus, 4)
            self.maxMemory = maxMemory ?? ByteSize(bytes: memory.bytes * 2)
            self.name = name
            self.managed = managed
            self.lab = lab
            self.running = running
            self.cpus = cpus
            self.memory = memory
            self.disk = disk
            self.network = network
            self.mac = mac
            self.address = address
            self.forwards = forwards
            self.securityGroups = securityGroups
        }
    }

    public struct Network: Sendable, Equatable {
        public var name: String
        public var managed: Bool
        public var lab: String?
        public var subnet: IPv4Subnet?
        public var gateway: IPv4Address?
        public var dhcp: IPv4Range?
        public var mode: NetworkMode?
        public var domain: String?
        /// Pinned addresses: DHCP host entries (name, MAC, address).
        public var hosts: [(name: String?, mac: String, address: IPv4Address)]
        /// The bridge as defined (nil: not read; the name vmctl gives its networks' bridges is assumed).
        public var bridge: String?

        public init(name: String, managed: Bool = true, lab: String?, subnet: IPv4Subnet?, gateway: IPv4Address?,
                    dhcp: IPv4Range?, mode: NetworkMode?, domain: String?,
                    hosts: [(name: String?, mac: String, address: IPv4Address)] = [], bridge: String? = nil) {
            self.bridge = bridge
            self.name = name
            self.managed = managed
            self.lab = lab
            self.subnet = subnet
            self.gateway = gateway
            self.dhcp = dhcp
            self.mode = mode
            self.domain = domain
            self.hosts = hosts
        }

        public static func == (lhs: Network, rhs: Network) -> Bool {
            lhs.name == rhs.name && lhs.managed == rhs.managed && lhs.lab == rhs.lab && lhs.subnet == rhs.subnet
                && lhs.gateway == rhs.gateway && lhs.dhcp == rhs.dhcp && lhs.mode == rhs.mode && lhs.domain == rhs.domain && lhs.bridge == rhs.bridge
                && lhs.hosts.map { "\($0.name ?? "") \($0.mac) \($0.address)" } == rhs.hosts.map { "\($0.name ?? "") \($0.mac) \($0.address)" }
        }
    }

    public var uri: String
    public var domains: [Domain]
    public var networks: [Network]
    public var control: ControlState
    /// Images in vmctl's pool (nil: not read, e.g. in unit tests: every image counts as present).
    public var images: [String]?
    /// Network interfaces of the libvirt host (nil: not read: a remote host, or unit tests).
    public var interfaces: [String]?
    /// libvirt calls made to read all this (for `plan --stats` and the benchmark).
    public var calls: Int = 0

    public init(uri: String, domains: [Domain] = [], networks: [Network] = [], control: ControlState = ControlState(), images: [String]? = nil) {
        self.uri = uri
        self.domains = domains
        self.networks = networks
        self.control = control
        self.images = images
    }

    public func domain(_ name: String) -> Domain? { domains.first { $0.name == name } }
    public func network(_ name: String) -> Network? { networks.first { $0.name == name } }

    /// The floating IP associated with a VM, and its pool.
    public func floatingIP(of vm: String) -> (pool: String, address: IPv4Address)? {
        for pool in control.pools {
            if let allocation = pool.allocations.first(where: { $0.vm == vm }) { return (pool.name, allocation.address) }
        }
        return nil
    }
}

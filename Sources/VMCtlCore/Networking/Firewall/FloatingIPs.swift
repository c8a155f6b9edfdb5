import Foundation

/// OpenStack-style floating IPs: pools of addresses on a host interface, allocated, then associated 1:1 with VMs.
public struct FloatingIPs {
    let session: Session
    let store: ControlStore
    let firewall: Firewall

    public init(session: Session) {
        self.session = session
        self.store = ControlStore(session: session)
        self.firewall = Firewall(session: session)
    }

    public func createPool(name: String, interface: String, range: IPv4Range, lab: String? = nil) throws -> FloatingIPPool {
        try ResourceName.validate(name, kind: "pool")
        try InterfaceName.validate(interface, kind: "interface")
        try Self.checkPoolRange(range)
        if session.isLocal, if_nametoindex(interface) == 0 {
            throw VMCtlError(.notFound, "interface '\(interface)' does not exist on the libvirt host")
        }
        let networks = try Networks(session: session).subnets()
        if let clash = networks.first(where: { $0.subnet.contains(range.start) || $0.subnet.contains(range.end) }) {
            throw VMCtlError.conflict("address range \(range) lies in network '\(clash.name)' (\(clash.subnet))")
        }
        return try firewall.commit { change in
            if change.control.pools.contains(where: { $0.name == name }) { throw VMCtlError.alreadyExists("pool", name) }
            if let clash = change.control.pools.first(where: { $0.range.contains(range.start) || $0.range.contains(range.end) || range.contains($0.range.start) }) {
                throw VMCtlError.conflict("address range \(range) overlaps pool '\(clash.name)' (\(clash.range))")
            }
            let pool = FloatingIPPool(name: name, interface: interface, range: range, allocations: [], lab: lab)
            change.control.pools.append(pool)
            return pool
        }
    }

    /// A pool's addresses stand for guests on the host's uplink: a bounded number of unicast addresses,
    /// none of them loopback, "this network", link-local or multicast.
    static func checkPoolRange(_ range: IPv4Range) throws {
        guard range.count <= 65536 else { throw VMCtlError.invalid("address range \(range) is too large (at most 65536 addresses)") }
        if let special = IPv4Subnet.specialUseRanges.first(where: { range.start.value <= $0.range.network.value | ~$0.range.mask && range.end.value >= $0.range.network.value }) {
            throw VMCtlError.invalid("address range \(range) overlaps the \(special.name) range, which floating IPs may not use")
        }
    }

    public func pools() throws -> [FloatingIPPool] { try store.load().pools }

    public func deletePool(name: String) throws {
        try firewall.commit { change in
            let state = change.control
            guard let pool = state.pools.first(where: { $0.name == name }) else {
                throw VMCtlError.notFound("pool", name, known: state.pools.map(\.name))
            }
            guard pool.allocations.isEmpty else {
                throw VMCtlError.conflict("pool '\(name)' still has allocated addresses (\(pool.allocations.map(\.address.description).joined(separator: ", "))); release them first")
            }
            change.control.pools.removeAll { $0.name == name }
        }
    }

    /// Takes the lowest free address of the pool.
    public func allocate(pool name: String) throws -> IPv4Address {
        try firewall.commit { change in
            guard let index = change.control.pools.firstIndex(where: { $0.name == name }) else {
                throw VMCtlError.notFound("pool", name, known: change.control.pools.map(\.name))
            }
            let pool = change.control.pools[index]
            let used = Set(pool.allocations.map(\.address))
            guard let free = (pool.range.start.value...pool.range.end.value).lazy.map(IPv4Address.init(value:))
                .first(where: { !used.contains($0) }) else {
                throw VMCtlError.conflict("pool '\(name)' is exhausted: all \(pool.range.count) addresses of \(pool.range) are allocated")
            }
            change.control.pools[index].allocations.append(.init(address: free, vm: nil))
            return free
        }
    }

    /// Makes `address` stand for `vm`: DNAT in, SNAT out, and the host answers ARP for it.
    public func associate(_ address: IPv4Address, vm: String) throws {
        try firewall.commit { change in
            let instanceID = try change.metadata(of: vm).instanceID
            guard change.state.guests.contains(where: { $0.vm == vm }) else {
                throw VMCtlError.conflict("VM '\(vm)' has no pinned address on a vmctl network")
            }
            try Self.change(address, in: &change.control) { allocation, pools in
                if let current = allocation.vm { throw VMCtlError.conflict("\(address) is already associated with '\(current)'; disassociate it first") }
                if let other = pools.flatMap(\.allocations).first(where: { $0.vm == vm }) {
                    throw VMCtlError.conflict("VM '\(vm)' already has floating IP \(other.address)")
                }
                allocation.vm = vm
                allocation.instanceID = instanceID
            }
        }
    }

    public func disassociate(_ address: IPv4Address) throws {
        try firewall.commit { change in
            try Self.change(address, in: &change.control) { allocation, _ in
                guard allocation.vm != nil else { throw VMCtlError.conflict("\(address) is not associated with a VM") }
                allocation.vm = nil
                allocation.instanceID = nil
            }
        }
    }

    public func release(_ address: IPv4Address) throws {
        try firewall.commit { change in
            let state = change.control
            guard let poolIndex = state.pools.firstIndex(where: { $0.allocations.contains { $0.address == address } }) else {
                throw VMCtlError(.notFound, "\(address) is not allocated from any pool")
            }
            if let vm = state.pools[poolIndex].allocations.first(where: { $0.address == address })?.vm {
                throw VMCtlError.conflict("\(address) is associated with '\(vm)'; disassociate it first")
            }
            change.control.pools[poolIndex].allocations.removeAll { $0.address == address }
        }
    }

    public struct Entry: Codable, Sendable, Equatable {
        public let address: IPv4Address
        public let pool: String
        public let vm: String?
    }

    public func list() throws -> [Entry] {
        try store.load().pools.flatMap { pool in
            pool.allocations.map { Entry(address: $0.address, pool: pool.name, vm: $0.vm) }
        }.sorted { $0.address.value < $1.address.value }
    }

    private static func change(_ address: IPv4Address, in state: inout ControlState,
                               _ body: (inout FloatingIPPool.Allocation, [FloatingIPPool]) throws -> Void) throws {
        for p in state.pools.indices {
            if let a = state.pools[p].allocations.firstIndex(where: { $0.address == address }) {
                try body(&state.pools[p].allocations[a], state.pools)
                return
            }
        }
        throw VMCtlError(.notFound, "\(address) is not allocated from any pool (vmctl fip allocate POOL first)")
    }
}

import Foundation
import Libvirt
import LibvirtXML

/// vmctl's view of libvirt networks. Every network vmctl makes is tuned for fast, reliable DHCP:
/// the bridge forwards at once (STP off, no forward delay) and dnsmasq hands out an address without
/// first pinging it (`no-ping`), which otherwise adds seconds per guest and loses some under load.
public struct Networks: Sendable {
    let session: Session

    public init(session: Session) { self.session = session }

    /// vmctl's own NAT network, created on first use.
    public static let defaultSpec = try! NetworkSpec(
        name: VMCtlNames.defaultNetwork, subnet: "10.77.0.0/24", dhcp: "10.77.0.10-10.77.0.254", mode: .nat)

    public static func defaultDocument() -> NetworkDocument { defaultSpec.document }

    /// The named network, started if it was stopped; the default network is created on first use.
    public func active(named name: String) throws -> Network {
        try ControlStore.requireNotReserved(network: name)
        let network: Network
        do {
            network = try session.connection.lookupNetwork(name: name)
        } catch let error as LibvirtError where error.isNotFound {
            guard name == VMCtlNames.defaultNetwork else {
                let known = (try? session.connection.listAllNetworks().map(\.name)) ?? []
                throw VMCtlError.notFound("network", name, known: known)
            }
            network = try libvirt("cannot define network '\(name)'") {
                try session.connection.defineNetwork(xml: Self.defaultDocument().xml)
            }
            try? network.setAutostart(true)
        }
        try upgradeForwardMode(of: network)
        if try !network.isActive {
            try libvirt("cannot start network '\(name)'") { try network.start() }
            try Firewall(session: session).reconcile()
        }
        return network
    }

    /// Networks made by earlier vmctl versions used libvirt's own NAT; vmctl's firewall needs them `open`.
    /// The definition is changed at once; a running network is restarted when no running VM uses it.
    func upgradeForwardMode(of network: Network) throws {
        var document = try NetworkDocument(xml: network.xml(inactive: true))
        guard let metadata = NetworkMetadata(document: document),
              document.forward != NetworkMetadata.libvirtForward(for: metadata.mode) else { return }
        document.forward = NetworkMetadata.libvirtForward(for: metadata.mode)
        try libvirt("cannot update network '\(network.name)'") { _ = try session.connection.defineNetwork(xml: document.xml) }
        guard try network.isActive else { return }
        // A running VM that cannot be read may be on it: restarting the network would cut it off.
        let running = try libvirt("cannot list running VMs", { try session.connection.listAllDomains([.active]) }).contains { domain in
            guard let xml = try libvirt("cannot read VM '\(domain.name)'", { try unlessVanished { try domain.xml() } }) else { return false }
            return try DomainDocument(xml: xml).interfaces.contains { $0.network == network.name }
        }
        if running { return }
        try libvirt("cannot restart network '\(network.name)'") {
            try network.destroy()
            try network.start()
        }
        try Firewall(session: session).reconcile()
    }

    /// Checks a network exists without creating or starting anything (for validation before changes).
    public func requireExists(_ name: String) throws {
        try ControlStore.requireNotReserved(network: name)
        guard name != VMCtlNames.defaultNetwork else { return }
        do {
            _ = try session.connection.lookupNetwork(name: name)
        } catch let error as LibvirtError where error.isNotFound {
            let known = (try? session.connection.listAllNetworks().map(\.name)) ?? []
            throw VMCtlError.notFound("network", name, known: known + [VMCtlNames.defaultNetwork])
        }
    }

    // MARK: Pinned addresses

    /// A locally administered MAC in QEMU's range, random so clones and parallel creates do not collide.
    static func newMAC() -> String {
        "52:54:00:" + (0..<3).map { _ in
            let byte = UInt8.random(in: 0...255)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined(separator: ":")
    }

    /// Reserves an address for `mac` (a DHCP host entry, live and persistent), so forwards and floating IPs
    /// keep pointing at the VM. The first free address of the DHCP range is taken (or `requested`, which may lie
    /// anywhere in the subnet); a concurrent reservation of the same address makes libvirt refuse, and the next one is tried.
    func pin(mac: String, name: String, on networkName: String, requested: IPv4Address? = nil) throws -> IPv4Address {
        let network = try lookup(networkName)
        var lastError: LibvirtError?
        for _ in 0..<8 {
            let document = try NetworkDocument(xml: network.xml(inactive: true))
            guard let ip = document.ipv4, let range = ip.dhcpRange,
                  let start = IPv4Address(range.start), let end = IPv4Address(range.end) else {
                throw VMCtlError.invalid("network '\(networkName)' has no DHCP range to pin addresses from")
            }
            // An address leased to a guest is taken even without a reservation; only a network that is not
            // running has no leases to ask for.
            let leases: [DHCPLease]
            do {
                leases = try network.dhcpLeases()
            } catch let error as LibvirtError where error.isStateConflict {
                leases = []
            } catch let error as LibvirtError {
                throw error.context("cannot read the DHCP leases of network '\(networkName)'")
            }
            let taken = Set(document.ipv4?.hosts.compactMap { IPv4Address($0.address) } ?? [])
                .union(leases.filter { $0.mac.lowercased() != mac.lowercased() }.compactMap { IPv4Address($0.address) })
            if let requested {
                try Self.check(requested, on: networkName, ip: ip, taken: taken)
                let host = NetworkDocument.DHCPHost(mac: mac, address: requested.description, name: name)
                try libvirt("cannot pin \(requested) for '\(name)' on '\(networkName)'") {
                    try network.update(.addLast, section: .ipDHCPHost, xml: XMLWriter.render(host.element),
                                       try network.isActive ? [.live, .config] : [.config])
                }
                return requested
            }
            // A guest that already holds a lease (its reservation was lost) keeps its address.
            let leased = leases.first { $0.mac.lowercased() == mac.lowercased() }.flatMap { IPv4Address($0.address) }
                .flatMap { (start.value...end.value).contains($0.value) && !taken.contains($0) ? $0 : nil }
            guard let free = leased ?? (start.value...end.value).lazy.map(IPv4Address.init(value:)).first(where: { !taken.contains($0) }) else {
                throw VMCtlError.conflict("network '\(networkName)' has no free address left in \(range.start)-\(range.end)")
            }
            let host = NetworkDocument.DHCPHost(mac: mac, address: free.description, name: name)
            // The VM is new, so an entry with its name is stale (a VM deleted while this network was
            // away); dnsmasq would refuse two entries for one name.
            let stale = ip.hosts.filter { $0.name == name }
            if !stale.isEmpty { unpin(macs: stale.map { $0.mac.lowercased() }, on: networkName) }
            do {
                try network.update(.addLast, section: .ipDHCPHost, xml: XMLWriter.render(host.element),
                                   try network.isActive ? [.live, .config] : [.config])
                return free
            } catch let error as LibvirtError where error.isOperationInvalid || error.message.contains("existing dhcp host") {
                lastError = error
                continue
            }
        }
        // Every try lost a race with another change of the network: it is busy, whatever libvirt called it.
        throw VMCtlError(.busy, "cannot pin an address for '\(name)' on '\(networkName)': \(lastError?.message ?? "too many concurrent changes")", cause: lastError)
    }

    /// Whether `mac` should get a reservation it lacks: the network hands out addresses and has no entry for it.
    func lacksPin(mac: String, on networkName: String) throws -> Bool {
        guard let network = try libvirt("cannot find network '\(networkName)'", { try unlessVanished { try session.connection.lookupNetwork(name: networkName) } })
        else { return false }
        let document = try libvirt("cannot read network '\(networkName)'") { try NetworkDocument(xml: network.xml(inactive: true)) }
        guard let ip = document.ipv4, ip.dhcpRange != nil else { return false }
        return !ip.hosts.contains { $0.mac.lowercased() == mac.lowercased() }
    }

    /// A requested address must be a host address of the network, not its gateway, and not held by another host.
    static func check(_ address: IPv4Address, on networkName: String, ip: NetworkDocument.IPv4, taken: Set<IPv4Address>) throws {
        guard let gateway = IPv4Address(ip.address) else { return }
        let subnet = IPv4Subnet(address: gateway, prefix: ip.prefix)
        guard subnet.contains(address), address.value >= subnet.first.value, address.value <= subnet.last.value else {
            throw VMCtlError.invalid("address \(address) is not a host address of network '\(networkName)' (\(subnet))")
        }
        guard address != gateway else { throw VMCtlError.invalid("address \(address) is the gateway of network '\(networkName)'") }
        guard !taken.contains(address) else { throw VMCtlError.conflict("address \(address) on network '\(networkName)' is already taken") }
    }

    /// Removes the host entries of these MACs (the VM is gone); missing entries or networks are fine.
    func unpin(macs: [String], on networkName: String) {
        guard let network = try? session.connection.lookupNetwork(name: networkName),
              let document = try? NetworkDocument(xml: network.xml(inactive: true)) else { return }
        let flags: NetworkUpdateFlags = ((try? network.isActive) ?? false) ? [.live, .config] : [.config]
        for host in document.ipv4?.hosts ?? [] where macs.contains(host.mac.lowercased()) {
            try? network.update(.delete, section: .ipDHCPHost, xml: XMLWriter.render(host.element), flags)
        }
    }

    // MARK: Managing networks

    /// Every libvirt network's IPv4 subnet (vmctl's or not), for overlap checks.
    public func subnets() throws -> [(name: String, subnet: IPv4Subnet)] {
        // A network that cannot be read may be the one a new subnet overlaps.
        try libvirt("cannot list networks", { try session.connection.listAllNetworks() }).compactMap { network in
            guard let xml = try libvirt("cannot read network '\(network.name)'", { try unlessVanished { try network.xml(inactive: true) } }),
                  let ip = try NetworkDocument(xml: xml).ipv4, let address = IPv4Address(ip.address) else { return nil }
            return (network.name, IPv4Subnet(address: address, prefix: ip.prefix))
        }
    }

    /// The host's IPv4 routes, read where libvirtd runs (vmctl has joined its network namespace).
    /// Remote hosts' routes are not visible; libvirt itself refuses a subnet already routed there, which is
    /// also why a route table that cannot be read costs only this earlier, clearer refusal.
    func hostRoutes() -> [IPv4Subnet] {
        guard session.isLocal, let table = try? String(contentsOfFile: "/proc/thread-self/net/route", encoding: .utf8) else { return [] }
        return table.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count >= 8, let destination = UInt32(fields[1], radix: 16), let mask = UInt32(fields[7], radix: 16) else { return nil }
            // /proc/net/route prints addresses in host (little-endian) byte order.
            return IPv4Subnet(address: IPv4Address(value: destination.byteSwapped), prefix: mask.nonzeroBitCount)
        }
    }

    public func create(_ spec: NetworkSpec, start: Bool = true) throws -> NetworkSummary {
        try spec.validate()
        try spec.validate(against: subnets(), hostRoutes: hostRoutes())
        let network = try libvirt("cannot define network '\(spec.name)'") { try session.connection.defineNetwork(xml: spec.document.xml) }
        do {
            try network.setAutostart(true)
            if start { try libvirt("cannot start network '\(spec.name)'") { try network.start() } }
            try Firewall(session: session).reconcile()
        } catch {
            if (try? network.isActive) == true { try? network.destroy() }
            try? network.undefine()
            throw error
        }
        return try summary(of: network)
    }

    public func list() throws -> [NetworkSummary] {
        let attached = try attachedVMs()
        // vmctl-control only holds vmctl's control state; it is never started and carries no guests.
        return try session.connection.listAllNetworks().filter { $0.name != ControlStore.networkName }
            .compactMap { network in try unlessVanished { try summary(of: network, attached: attached) } }.sorted { $0.name < $1.name }
    }

    public func summary(of network: Network, attached: [String: [String]]? = nil) throws -> NetworkSummary {
        let document = try NetworkDocument(xml: network.xml(inactive: true))
        let metadata = NetworkMetadata(document: document)
        let subnet = document.ipv4.flatMap { ip in IPv4Address(ip.address).map { IPv4Subnet(address: $0, prefix: ip.prefix) } }
        return NetworkSummary(
            name: network.name, mode: metadata?.mode.rawValue ?? document.forward?.rawValue ?? "isolated",
            subnet: subnet?.description, gateway: document.ipv4?.address,
            dhcp: document.ipv4?.dhcpRange.map { "\($0.start)-\($0.end)" }, bridge: document.bridgeName,
            active: try network.isActive, autostart: (try? network.autostart) ?? false,
            vms: (try attached ?? attachedVMs())[network.name] ?? [], managed: metadata != nil,
            pinned: document.ipv4?.hosts.map { "\($0.name ?? $0.mac)=\($0.address)" } ?? [])
    }

    public func info(_ name: String) throws -> NetworkSummary { try summary(of: lookup(name)) }

    func lookup(_ name: String) throws -> Network {
        do {
            return try session.connection.lookupNetwork(name: name)
        } catch let error as LibvirtError where error.isNotFound {
            throw VMCtlError.notFound("network", name, known: (try? session.connection.listAllNetworks().map(\.name)) ?? [])
        }
    }

    /// Which VMs have an interface on each network.
    func attachedVMs() throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        // Fails closed: a VM that cannot be read may be attached, and deleting its network would strand it.
        for domain in try libvirt("cannot list VMs", { try session.connection.listAllDomains() }) {
            guard let xml = try libvirt("cannot read VM '\(domain.name)'", { try unlessVanished { try domain.xml([.inactive]) } })
            else { continue }
            let document = try DomainDocument(xml: xml)
            for network in Set(document.interfaces.map(\.network)) { result[network, default: []].append(domain.name) }
        }
        return result.mapValues { $0.sorted() }
    }

    /// Deletes a network; refused while VMs are attached unless `force` (they keep a dangling interface).
    public func delete(_ name: String, force: Bool) throws {
        try ControlStore.requireNotReserved(network: name)
        let network = try lookup(name)
        let vms = try attachedVMs()[name] ?? []
        guard vms.isEmpty || force else {
            throw VMCtlError.conflict("network '\(name)' has VMs attached (\(vms.joined(separator: ", ")))", advice: "delete them first", hint: .force)
        }
        if try network.isActive { try libvirt("cannot stop network '\(name)'") { try network.destroy() } }
        try libvirt("cannot delete network '\(name)'") { try network.undefine() }
        try Firewall(session: session).commit(reconcile: false) { change in
            for index in change.control.routers.indices { change.control.routers[index].networks.removeAll { $0 == name } }
        }
        try Firewall(session: session).reconcile()
    }

    public func start(_ name: String) throws {
        try ControlStore.requireNotReserved(network: name)
        let network = try lookup(name)
        guard try !network.isActive else { throw VMCtlError.conflict("network '\(name)' is already active") }
        try libvirt("cannot start network '\(name)'") { try network.start() }
        try Firewall(session: session).reconcile()
    }

    public func stop(_ name: String) throws {
        try ControlStore.requireNotReserved(network: name)
        let network = try lookup(name)
        guard try network.isActive else { throw VMCtlError.conflict("network '\(name)' is not active") }
        try libvirt("cannot stop network '\(name)'") { try network.destroy() }
    }
}

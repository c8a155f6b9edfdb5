import Foundation
import Libvirt
import LibvirtXML

/// Reads `LabObserved` from libvirt, counting the calls it makes.
public struct LabObserver {
    let session: Session

    /// The interfaces of the namespace vmctl runs in (libvirtd's, joined by `Session`), where pools live.
    static func hostInterfaces() -> [String] {
        guard let list = if_nameindex() else { return [] }
        defer { if_freenameindex(list) }
        var names: [String] = []
        var entry = list
        while entry.pointee.if_index != 0, let name = entry.pointee.if_name {
            names.append(String(cString: name))
            entry += 1
        }
        return names
    }

    public init(session: Session) { self.session = session }

    public func observe() throws -> LabObserved {
        var calls = 0
        func call<T>(_ what: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
            calls += 1
            return try libvirt(what(), body)
        }
        var networks: [LabObserved.Network] = []
        for network in try call("cannot list networks", { try session.connection.listAllNetworks() })
        where network.name != ControlStore.networkName {
            // Fails closed: a network or VM removed meanwhile is skipped, one that cannot be read is an error (the
            // plan would take it for absent, and what apply then did would rest on that).
            guard let xml = try call("cannot read network '\(network.name)'", { try unlessVanished { try network.xml(inactive: true) } })
            else { continue }
            let document = try NetworkDocument(xml: xml)
            let metadata = NetworkMetadata(document: document)
            let ip = document.ipv4
            let gateway = ip.flatMap { IPv4Address($0.address) }
            let dhcp = ip?.dhcpRange.flatMap { range in
                IPv4Address(range.start).flatMap { start in IPv4Address(range.end).map { IPv4Range(start: start, end: $0) } }
            }
            networks.append(LabObserved.Network(
                name: network.name, managed: metadata != nil, lab: metadata?.lab,
                subnet: gateway.map { IPv4Subnet(address: $0, prefix: ip?.prefix ?? 24) }, gateway: gateway, dhcp: dhcp,
                mode: metadata?.mode, domain: document.domainName,
                hosts: ip?.hosts.compactMap { host in IPv4Address(host.address).map { (host.name, host.mac.lowercased(), $0) } } ?? [],
                bridge: document.bridgeName))
        }
        let pinned = Dictionary(networks.flatMap { network in network.hosts.map { ($0.mac, $0.address) } }, uniquingKeysWith: { first, _ in first })

        let pool = try call("cannot find vmctl's storage pool", {
            try unlessVanished { try session.connection.lookupStoragePool(name: VMCtlNames.storagePool) }
        })
        var domains: [LabObserved.Domain] = []
        for domain in try call("cannot list VMs", { try session.connection.listAllDomains() }) {
            guard let xml = try call("cannot read VM '\(domain.name)'", { try unlessVanished { try domain.xml([.inactive]) } })
            else { continue }
            let document = try DomainDocument(xml: xml)
            let metadata = VMMetadata(domain: document)
            guard let running = try call("cannot read VM state", { try unlessVanished { try domain.isActive } }) else { continue }
            let interface = document.interfaces.first
            var disk: ByteSize?
            // Only lab VMs are compared in detail: their disk size needs two calls more.
            if metadata?.lab != nil, let root = metadata?.volumes["root"], let pool,
               let volume = try call("cannot find volume '\(root)'", { try unlessVanished { try pool.lookupVolume(name: root) } }),
               let info = try call("cannot read volume '\(root)'", { try unlessVanished { try volume.info() } }) {
                disk = ByteSize(bytes: info.capacity)
            }
            domains.append(LabObserved.Domain(
                name: domain.name, managed: metadata != nil, lab: metadata?.lab, running: running, cpus: document.vcpus,
                memory: ByteSize(bytes: document.currentMemoryKiB << 10), maxCPUs: document.maxVcpus,
                maxMemory: ByteSize(bytes: document.maxMemoryKiB << 10), disk: disk, network: interface?.network,
                mac: interface?.mac?.lowercased(), address: interface?.mac.flatMap { pinned[$0.lowercased()] },
                forwards: metadata?.forwards ?? [], securityGroups: metadata?.securityGroups ?? []))
        }
        calls += 2  // the control network's lookup and definition
        let control = try ControlStore(session: session).load()
        var images: [String]?
        if let pool {
            let names = try call("cannot list images", { try pool.listAllVolumes() }).map(\.name)
            images = names.compactMap { name in
                guard name.hasPrefix("image-") else { return nil }
                return String(name.dropFirst(6).prefix { $0 != "." })
            }
        }
        var observed = LabObserved(uri: session.uri, domains: domains.sorted { $0.name < $1.name },
                                     networks: networks.sorted { $0.name < $1.name }, control: control, images: images)
        observed.calls = calls
        if session.isLocal { observed.interfaces = Self.hostInterfaces() }
        return observed
    }
}

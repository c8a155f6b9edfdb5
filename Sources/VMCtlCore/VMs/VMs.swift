import Foundation
import Libvirt
import LibvirtXML

/// VM lifecycle: create, start, stop, reboot, delete, and what they look like now.
public struct VMs {
    let session: Session
    let storage: Storage
    let networks: Networks
    /// Where notices go (the accelerator fallback, leftovers cleaned up).
    let notice: (String) -> Void

    public init(session: Session, notice: @escaping (String) -> Void = { _ in }) {
        self.session = session
        self.storage = Storage(session: session)
        self.networks = Networks(session: session)
        self.notice = notice
    }

    // MARK: Lookup

    public func domain(named name: String) throws -> Domain {
        do {
            return try session.connection.lookupDomain(name: name)
        } catch let error as LibvirtError where error.isNotFound {
            throw VMCtlError.notFound("VM", name)
        }
    }

    /// Whether a VM of that name exists; a lookup that fails otherwise is an error, not an absence.
    public func exists(_ name: String) throws -> Bool {
        do {
            _ = try domain(named: name)
            return true
        } catch let error as VMCtlError where error.code == .notFound {
            return false
        }
    }

    func document(of domain: Domain, inactive: Bool = false) throws -> DomainDocument {
        try DomainDocument(xml: domain.xml(inactive ? [.inactive] : []))
    }

    // MARK: Create

    /// Creates a VM from a validated spec. Everything is checked before the first change; volumes are made
    /// first and the domain is defined last, so a failure leaves nothing of the VM behind.
    public func create(_ spec: VMSpec, start: Bool, imageProvider: (String) throws -> ImageInfo) throws -> VMSummary {
        try create(spec, start: start, imageProvider: imageProvider) { rootName, image in
            try storage.createOverlay(named: rootName, on: image, capacity: spec.disk.bytes)
        }
    }

    /// Like `create`, with the root disk made by `makeRoot(volumeName, image)` once every check has passed
    /// (import streams it from an archive). `makeRoot` removes what it made if it fails.
    func create(
        _ spec: VMSpec, start: Bool, imageProvider: (String) throws -> ImageInfo,
        makeRoot: (String, ImageInfo) throws -> StorageVolume
    ) throws -> VMSummary {
        try spec.validate()
        // Held while the VM's volumes exist without its domain, so no one takes them for leftovers; taken
        // before the name is checked, so a create of the same name running now is never taken for one.
        let creating = try lockCreation(of: spec.name)
        defer { creating?.release() }
        if try exists(spec.name) {
            throw VMCtlError.alreadyExists("VM", spec.name)
        }
        try networks.requireExists(spec.network)
        let image = try imageProvider(spec.image)
        guard spec.disk.bytes >= image.virtualSize else {
            throw VMCtlError.invalid("disk \(spec.disk) is smaller than image '\(image.name)' (\(ByteSize(bytes: image.virtualSize)))")
        }
        let accelerator = try AcceleratorChoice.choose(spec.accel, kvm: session.kvmStatus)
        var sshKeys = spec.sshAuthorizedKeys
        sshKeys.append(try SSHKeyStore().ensurePublicKey())
        try removeLeftovers(of: spec.name)
        let network = try networks.active(named: spec.network)

        let rollback = Rollback()
        defer { rollback.unwind() }
        let mac = Networks.newMAC()
        let rootName = VMCtlNames.rootVolume(of: spec.name)
        let root = try makeRoot(rootName, image)
        rollback.add { try root.delete() }

        let instanceID = Self.newInstanceID()
        let seedName = VMCtlNames.seedVolume(of: spec.name)
        let seedVolume = try makeSeed(named: seedName, instanceID: instanceID, hostname: spec.name,
                                      sshKeys: sshKeys, runCommands: spec.runCommands)
        rollback.add { try seedVolume.delete() }

        var metadata = VMMetadata(
            image: image.name, flavor: spec.flavor, instanceID: instanceID, hostname: spec.name,
            accelerator: accelerator.domainType == "kvm" ? "kvm" : "tcg",
            created: ISO8601DateFormatter().string(from: Date()),
            volumes: ["root": rootName, "seed": seedName], sshKeys: spec.sshAuthorizedKeys)
        metadata.lab = spec.lab
        let document = DomainDocument(
            type: accelerator.domainType == "kvm" ? .kvm : .qemu,
            name: spec.name,
            metadata: [metadata.element],
            maxMemoryKiB: spec.maximumMemory.kibibytes,
            currentMemoryKiB: spec.memory.kibibytes,
            maxVcpus: spec.maximumCPUs,
            vcpus: spec.cpus,
            cpuMode: accelerator.domainType == "kvm" ? "host-passthrough" : nil,
            disks: [
                .init(source: .volume(pool: VMCtlNames.storagePool, volume: rootName), format: "qcow2", target: "vda"),
                .init(source: .volume(pool: VMCtlNames.storagePool, volume: seedName), format: "raw", target: "vdb", isReadOnly: true),
            ],
            interfaces: [.init(network: network.name, mac: mac)],
            serialLogPath: VMCtlNames.serialLog(of: spec.name))
        let domain = try libvirt("cannot define VM '\(spec.name)'") { try session.connection.defineDomain(xml: document.xml) }
        rollback.add {
            if (try? domain.isActive) == true { try? domain.destroy() }
            try domain.undefine(.everything)
        }
        if start {
            if let message = accelerator.notice { notice(message) }
            try libvirt("cannot start VM '\(spec.name)'") { try domain.start() }
        }
        // Pinning restarts the network's dnsmasq (~0.4 s; libvirt also holds the network meanwhile, so a
        // domain start would wait for it): done once the guest is powering on, seconds before its first
        // DHCP request, so the pin overlaps the boot instead of delaying it.
        _ = try networks.pin(mac: mac, name: spec.name, on: network.name, requested: spec.address)
        rollback.add { networks.unpin(macs: [mac], on: network.name) }
        // A running guest joins its security groups' member sets now; a stopped one when it starts.
        if start { try reconcileFirewall() }
        rollback.commit()
        return try summary(of: domain)
    }

    static func newInstanceID() -> String { "i-" + String(UInt64.random(in: 1...UInt64.max), radix: 16) }

    /// Uploads a NoCloud seed carrying a VM's identity: a new instance-id makes the guest (cloud-init or the
    /// tiny image) take the hostname, keys and first-boot commands as a new instance.
    func makeSeed(named volumeName: String, instanceID: String, hostname: String,
                  sshKeys: [String], runCommands: [String]) throws -> StorageVolume {
        let seed = NoCloudSeed(instanceID: instanceID, hostname: hostname,
                               sshAuthorizedKeys: sshKeys, runCommands: runCommands)
        return try storage.upload(bytes: seed.isoImage(timestamp: .now), volumeName: volumeName)
    }

    /// Waits for other creates and clones of `name` on this host, then holds them off (nil for a remote
    /// host, where vmctl has no lock).
    func lockCreation(of name: String) throws -> HostLock? {
        session.isLocal ? try HostLock.acquire(VMCtlNames.creationLock(of: name)) : nil
    }

    /// Volumes no running command holds: those of a VM that does not exist (a create or clone killed half
    /// way) and an export's temporary copy (an export killed half way).
    public func leftovers() throws -> [Leftover] {
        let existing = Set(try session.connection.listAllDomains().map(\.name))
        func held(_ lock: String) -> Bool { session.isLocal && HostLock.isHeld(lock) }
        return try storage.allVolumes().compactMap { volume -> Leftover? in
            if let owner = VMCtlNames.owner(ofVolume: volume.name) {
                guard !existing.contains(owner), !held(VMCtlNames.creationLock(of: owner)) else { return nil }
                return Leftover(owner: owner, volume: volume.name, origin: .create)
            }
            if let owner = VMCtlNames.owner(ofExportVolume: volume.name) {
                guard !held(VMCtlNames.exportLock(of: owner)) else { return nil }
                return Leftover(owner: owner, volume: volume.name, origin: .export)
            }
            return nil
        }.sorted { ($0.owner, $0.volume) < ($1.owner, $1.volume) }
    }

    /// Removes the volumes of `name` that an interrupted create or clone left; the caller holds its
    /// creation lock and has seen that no VM `name` exists. Returns how many it removed.
    @discardableResult
    func removeLeftovers(of name: String) throws -> Int {
        let volumes = try storage.allVolumes().filter { VMCtlNames.owner(ofVolume: $0.name) == name }
        for volume in volumes {
            notice("removing '\(volume.name)', left over from an interrupted create of '\(name)'")
            try libvirt("cannot remove leftover volume '\(volume.name)'") { try volume.delete() }
        }
        return volumes.count
    }

    /// Removes the temporary copies that killed exports of `name` left. The caller holds the export lock
    /// of `name`, or `ifNoExportRuns` has this take it (and skip, when an export runs and removes its own).
    @discardableResult
    func removeExportLeftovers(of name: String, ifNoExportRuns: Bool = false) throws -> Int {
        var lock: HostLock?
        if ifNoExportRuns, session.isLocal {
            guard let free = try HostLock(name: VMCtlNames.exportLock(of: name), wait: false) else { return 0 }
            lock = free
        }
        defer { lock?.release() }
        let volumes = try storage.allVolumes().filter { VMCtlNames.owner(ofExportVolume: $0.name) == name }
        for volume in volumes {
            notice("removing '\(volume.name)', left over from an interrupted export of '\(name)'")
            try libvirt("cannot remove leftover volume '\(volume.name)'") { try volume.delete() }
        }
        return volumes.count
    }

    // MARK: Lifecycle

    public func start(_ name: String) throws {
        let domain = try domain(named: name)
        guard try !domain.isActive else { throw VMCtlError.conflict("VM '\(name)' is already running") }
        let document = try document(of: domain)
        try requireNoLinkedClones(of: document, toward: "start")
        if document.type == .kvm, !session.kvmStatus.isUsable {
            throw VMCtlError(.unavailable, "VM '\(name)' was made for KVM, which is not usable here: \(session.kvmStatus.reason)")
        }
        try ensurePinned(document)
        try libvirt("cannot start VM '\(name)'") { try domain.start() }
        // Its address joins its groups' member sets (a VM created or cloned stopped is not in them yet).
        try reconcileFirewall()
    }

    /// A create killed between defining the VM and reserving its address left a VM without a reservation:
    /// it gets one now (keeping the address it holds, if any), so forwards and floating IPs can point at it.
    func ensurePinned(_ name: String, requested: IPv4Address? = nil) throws {
        try ensurePinned(try document(of: try domain(named: name), inactive: true), requested: requested)
    }

    func ensurePinned(_ document: DomainDocument, requested: IPv4Address? = nil) throws {
        for interface in document.interfaces {
            guard let mac = interface.mac, try networks.lacksPin(mac: mac, on: interface.network) else { continue }
            notice("reserving an address for '\(document.name)' on '\(interface.network)', which an interrupted create left without one")
            _ = try networks.pin(mac: mac.lowercased(), name: document.name, on: interface.network, requested: requested)
        }
    }

    /// Asks the guest to power off (ACPI) and waits for it; `force` pulls the plug instead.
    public func stop(_ name: String, force: Bool, timeout: Seconds) throws {
        let domain = try domain(named: name)
        guard try domain.isActive else { throw VMCtlError.conflict("VM '\(name)' is not running") }
        if force {
            try libvirt("cannot stop VM '\(name)'") { try domain.destroy() }
            return
        }
        try libvirt("cannot stop VM '\(name)'") { try domain.shutdown() }
        let stopped = try poll(timeout: timeout, interval: 0.1) { try domain.isActive ? nil : true }
        if stopped == nil {
            throw VMCtlError(.timedOut, "VM '\(name)' did not power off within \(timeout)", hint: .force)
        }
    }

    public func reboot(_ name: String) throws {
        let domain = try domain(named: name)
        guard try domain.isActive else { throw VMCtlError.conflict("VM '\(name)' is not running") }
        try libvirt("cannot reboot VM '\(name)'") { try domain.reboot() }
    }

    /// Removes the VM, its volumes (unless `keepDisks`) and its DHCP lease.
    public func delete(_ name: String, keepDisks: Bool) throws {
        // A create or clone of `name` running now holds this while its volumes exist without a domain.
        let creating = session.isLocal ? try HostLock(name: VMCtlNames.creationLock(of: name), wait: false) : nil
        if session.isLocal, creating == nil {
            throw VMCtlError(.busy, "VM '\(name)' is being created or cloned by another vmctl process; delete it once that has finished")
        }
        defer { creating?.release() }
        let domain: Domain
        do {
            domain = try self.domain(named: name)
        } catch let error as VMCtlError where error.code == .notFound {
            // No VM, but perhaps what an interrupted create, clone or export of it left: deleting it means those.
            let removed = try removeLeftovers(of: name) + removeExportLeftovers(of: name, ifNoExportRuns: true)
            guard removed > 0 else { throw error }
            return
        }
        let document = try document(of: domain)
        if !keepDisks { try requireNoLinkedClones(of: document, toward: "delete") }
        let metadata = VMMetadata(domain: document)
        let uuid = try domain.uuid
        let leases = (try? leases(of: document)) ?? []
        try Firewall(session: session).forget(vm: name)
        if try domain.isActive {
            try libvirt("cannot stop VM '\(name)'") { try domain.destroy() }
        }
        try libvirt("cannot undefine VM '\(name)'") { try domain.undefine(.everything) }
        for interface in document.interfaces { networks.unpin(macs: interface.mac.map { [$0.lowercased()] } ?? [], on: interface.network) }
        if !keepDisks {
            let pool = try storage.pool()
            for volumeName in metadata.map({ Array($0.volumes.values) }) ?? [] {
                guard let volume = try libvirt("cannot find volume '\(volumeName)'", { try unlessVanished { try pool.lookupVolume(name: volumeName) } })
                else { continue }
                try libvirt("cannot delete volume '\(volumeName)'") { try volume.delete() }
            }
        }
        try removeExportLeftovers(of: name, ifNoExportRuns: true)
        try SSHHostKeys().forget(vm: uuid)
        releaseLeases(leases)
        // Its forwards and floating IP must stop pointing at an address the next VM may get.
        try reconcileFirewall()
        // The log is named after the VM: a new VM of the same name must not continue the old one's log.
        if session.isLocal, let log = document.serialLogPath { unlink(log) }
    }

    /// Re-applies the firewall where vmctl can (the libvirt host); a remote host keeps its rules until
    /// vmctl runs there.
    func reconcileFirewall() throws {
        guard session.isLocal else { return }
        try Firewall(session: session).reconcile()
    }

    /// A VM whose disk is the base of linked clones must keep that disk unchanged: refuse what would write it.
    func requireNoLinkedClones(of document: DomainDocument, toward action: String) throws {
        // No root volume, no clones on it; one that cannot be looked up might have some.
        guard let root = VMMetadata(domain: document)?.volumes["root"],
              let path = try libvirt("cannot find \(document.name)'s disk '\(root)'", { try unlessVanished { try storage.pool().lookupVolume(name: root).path } })
        else { return }
        let clones = try storage.dependents(ofPath: path)
        guard clones.isEmpty else {
            let first = clones[0].split(separator: " ").last.map(String.init) ?? clones[0]
            throw VMCtlError.conflict("cannot \(action) '\(document.name)': its disk is the base of linked clones (\(clones.joined(separator: ", "))); make them independent first: vmctl clone --flatten \(first)")
        }
    }

    /// Changes vmctl's metadata of a VM, in its running state and its definition. Under the lock of
    /// `Firewall.commit`, which writes the same element: two changes of one VM never lose each other.
    /// Changes of forwards and groups go through `Firewall.commit`, which also renders them first.
    func updateMetadata(of name: String, _ change: (inout VMMetadata) throws -> Void) throws {
        let lock = try HostLock.acquire(ControlStore.lockName)
        defer { lock.release() }
        let domain = try domain(named: name)
        guard var metadata = try VMMetadata.read(domain: try document(of: domain, inactive: true)) else {
            throw VMCtlError.invalid("VM '\(name)' was not made by vmctl")
        }
        try change(&metadata)
        try writeMetadata(metadata, to: domain)
    }

    func writeMetadata(_ metadata: VMMetadata, to domain: Domain) throws {
        let name = domain.name
        let flags: ModificationFlags = try domain.isActive ? [.live, .config] : [.config]
        try libvirt("cannot update \(name)'s metadata") {
            try domain.setMetadata(XMLWriter.render(metadata.bareElement), key: VMCtlNames.metadataPrefix,
                                   namespaceURI: VMCtlNames.metadataNamespace, flags)
        }
    }

    // MARK: State

    public func list() throws -> [VMSummary] {
        let domains = try libvirt("cannot list VMs") { try session.connection.listAllDomains() }
        var leaseCache: [String: [DHCPLease]] = [:]
        return try domains.compactMap { domain in try unlessVanished { try summary(of: domain, leaseCache: &leaseCache) } }
            .sorted { $0.name < $1.name }
    }

    public func summary(of domain: Domain) throws -> VMSummary {
        var cache: [String: [DHCPLease]] = [:]
        return try summary(of: domain, leaseCache: &cache)
    }

    private func summary(of domain: Domain, leaseCache: inout [String: [DHCPLease]]) throws -> VMSummary {
        let info = try domain.info()
        // The persistent definition: a running guest's live memory follows its balloon while it settles.
        let document = try document(of: domain, inactive: true)
        let metadata = VMMetadata(domain: document)
        let interface = document.interfaces.first
        var addresses: [String] = []
        if info.state == .running, let interface, let mac = interface.mac {
            if leaseCache[interface.network] == nil {
                leaseCache[interface.network] = (try? session.connection.lookupNetwork(name: interface.network).dhcpLeases()) ?? []
            }
            addresses = leaseCache[interface.network, default: []].filter { $0.mac == mac && !$0.isIPv6 }.map(\.address)
        }
        return VMSummary(
            name: domain.name, state: info.state.description, cpus: info.vcpus,
            // The configured size: the balloon's live reading drifts while the guest boots.
            memory: ByteSize(bytes: document.currentMemoryKiB << 10).description, image: metadata?.image,
            network: interface?.network, mac: interface?.mac, addresses: addresses, managed: metadata != nil)
    }

    public func details(_ name: String) throws -> VMDetails {
        let domain = try domain(named: name)
        let info = try domain.info()
        let document = try document(of: domain)
        let metadata = VMMetadata(domain: document)
        let pool = (try? storage.existingPool()) ?? nil
        let disks = document.disks.map { disk -> VMDetails.Disk in
            var volumeName = ""
            var volumeInfo: StorageVolumeInfo?
            switch disk.source {
            case .volume(_, let volume):
                volumeName = volume
                volumeInfo = try? pool?.lookupVolume(name: volume).info()
            case .file(let path):
                volumeName = path
                volumeInfo = try? session.connection.lookupStorageVolume(path: path).info()
            }
            return .init(target: disk.target, volume: volumeName,
                         capacity: volumeInfo.map { ByteSize(bytes: $0.capacity).description } ?? "?",
                         allocation: volumeInfo.map { ByteSize(bytes: $0.allocation).description } ?? "?",
                         readOnly: disk.isReadOnly)
        }
        return VMDetails(
            name: name, uuid: try domain.uuid, state: info.state.description,
            cpus: info.vcpus, maxCPUs: document.maxVcpus,
            memory: ByteSize(bytes: document.currentMemoryKiB << 10).description,
            maxMemory: ByteSize(bytes: document.maxMemoryKiB << 10).description,
            accelerator: document.type == .kvm ? "kvm" : "tcg",
            image: metadata?.image, flavor: metadata?.flavor, instanceID: metadata?.instanceID,
            created: metadata?.created, network: document.interfaces.first?.network,
            mac: document.interfaces.first?.mac,
            addresses: info.state == .running ? ((try? addresses(of: domain, document: document)) ?? []) : [],
            disks: disks, serialLog: document.serialLogPath)
    }

    // MARK: Addresses

    func leases(of document: DomainDocument) throws -> [(network: String, lease: DHCPLease)] {
        try document.interfaces.flatMap { interface -> [(network: String, lease: DHCPLease)] in
            guard let mac = interface.mac else { return [] }
            let network = try session.connection.lookupNetwork(name: interface.network)
            return try network.dhcpLeases(mac: mac).filter { !$0.isIPv6 }.map { (interface.network, $0) }
        }
    }

    /// The guest's IPv4 addresses: from DHCP leases first, then from the host's ARP table.
    func addresses(of domain: Domain, document: DomainDocument) throws -> [IPv4Address] {
        let fromLeases = try leases(of: document).compactMap { IPv4Address($0.lease.address) }
        if !fromLeases.isEmpty { return fromLeases }
        let macs = Set(document.interfaces.compactMap(\.mac))
        let fromARP = (try? domain.interfaceAddresses(source: .arp)) ?? []
        return fromARP.filter { $0.mac.map(macs.contains) ?? false }.flatMap(\.addresses).compactMap(IPv4Address.init)
    }

    /// The VM's address; with a timeout, waits until the guest itself answers on it (not just until a lease
    /// exists), when the guest network is reachable from here. With `listeningOn`, waits until that TCP port
    /// accepts connections (for ssh: the guest's SSH server is up, not only its network stack).
    public func address(of name: String, wait timeout: Seconds?, listeningOn port: UInt16? = nil) throws -> IPv4Address {
        let domain = try domain(named: name)
        let document = try document(of: domain)
        guard let timeout else {
            guard try domain.isActive else { throw VMCtlError.conflict("VM '\(name)' is not running") }
            guard let address = try addresses(of: domain, document: document).first else {
                throw VMCtlError(.unavailable, "VM '\(name)' has no address yet", hint: .wait)
            }
            return address
        }
        let found = try poll(timeout: timeout, interval: 0.1) { () -> IPv4Address? in
            guard try domain.isActive else { throw VMCtlError.conflict("VM '\(name)' is not running") }
            guard let address = try addresses(of: domain, document: document).first else { return nil }
            if !GuestReachability.isOnLink(address) { return address }
            if let port { return GuestReachability.probe(address, port: port) == .accepted ? address : nil }
            return GuestReachability.answers(address) ? address : nil
        }
        guard let found else {
            let what = port.map { "accept connections on port \($0)" } ?? "answer on an address"
            throw VMCtlError(.timedOut, "VM '\(name)' did not \(what) within \(timeout)")
        }
        return found
    }

    /// Releases leases at dnsmasq so a deleted VM's address is free at once, instead of after the lease time.
    /// Only possible where the guest bridge is local; remote leases simply expire.
    private func releaseLeases(_ leases: [(network: String, lease: DHCPLease)]) {
        for (_, lease) in leases where IPv4Address(lease.address).map(GuestReachability.isOnLink) ?? false {
            _ = try? ProcessRunner.capture("dhcp_release", [lease.interface, lease.address, lease.mac])
        }
    }

}

extension ISO9660Image.Timestamp {
    static var now: ISO9660Image.Timestamp {
        let parts = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: Date())
        return .init(year: parts.year ?? 2026, month: parts.month ?? 1, day: parts.day ?? 1,
                     hour: parts.hour ?? 0, minute: parts.minute ?? 0, second: parts.second ?? 0)
    }
}

import Foundation
import Libvirt
import LibvirtXML

/// Cloning VMs the VirtualBox way: a new VM with the source's disk contents and a new identity
/// (UUID, MAC, hostname, instance-id), so it boots with its own lease and name.
public struct Clones {
    let instances: VMs
    var session: Session { instances.session }
    var storage: Storage { instances.storage }

    public init(session: Session, notice: @escaping (String) -> Void = { _ in }) {
        instances = VMs(session: session, notice: notice)
    }

    /// Chooses the mode when the user did not: linked for a stopped source (instant); a snapshot is copied
    /// in full (its state lives inside the source's disk, so nothing can be layered on it). A running source
    /// without a snapshot is refused.
    public static func resolveMode(_ requested: CloneMode?, sourceIsRunning: Bool, sourceName: String,
                                   snapshot: String? = nil) throws -> CloneMode {
        if snapshot != nil {
            guard requested != .linked else {
                throw VMCtlError.invalid("a clone from a snapshot is a full copy, never linked")
            }
            return .full
        }
        let mode = requested ?? .linked
        if sourceIsRunning {
            // A running guest keeps writing its disk: neither an overlay on it nor a copy of it would be a
            // consistent point in time.
            throw VMCtlError.conflict("VM '\(sourceName)' is running: stop it first (vmctl stop \(sourceName)), or clone a snapshot of it (vmctl snapshot create \(sourceName) S; vmctl clone \(sourceName) NEW --snapshot S)")
        }
        return mode
    }

    public func clone(source sourceName: String, as name: String, mode requested: CloneMode?, start: Bool,
                      snapshot: String? = nil, progress: Progress? = nil) throws -> VMSummary {
        try ResourceName.validate(name, kind: "VM")
        let source = try instances.domain(named: sourceName)
        // Taken before the name is checked, as in create: its volumes are nobody's leftovers meanwhile.
        let creating = try instances.lockCreation(of: name)
        defer { creating?.release() }
        if try instances.exists(name) { throw VMCtlError.alreadyExists("VM", name) }
        let sourceDocument = try instances.document(of: source, inactive: true)
        guard let sourceMetadata = VMMetadata(domain: sourceDocument),
              let sourceRootName = sourceMetadata.volumes["root"] else {
            throw VMCtlError.invalid("VM '\(sourceName)' was not made by vmctl; clone it with virt-clone")
        }
        let mode = try Self.resolveMode(requested, sourceIsRunning: try source.isActive, sourceName: sourceName, snapshot: snapshot)
        if let snapshot {
            try ResourceName.validate(snapshot, kind: "snapshot")
            guard session.isLocal else { throw VMCtlError(.unavailable, "cloning from a snapshot reads the disk on the libvirt host: run vmctl there") }
            let info = try Snapshots(session: session).list(vm: sourceName).first { $0.name == snapshot }
            guard let info else { throw VMCtlError.notFound("snapshot", snapshot) }
            guard info.kind == .internal else {
                throw VMCtlError.invalid("snapshot '\(snapshot)' is external; only internal snapshots can be cloned from")
            }
        }
        let pool = try storage.pool()
        let sourceRoot = try libvirt("cannot find \(sourceName)'s disk '\(sourceRootName)'") {
            try pool.lookupVolume(name: sourceRootName)
        }
        let sourceRootInfo = try sourceRoot.info()
        try instances.removeLeftovers(of: name)

        let rollback = Rollback()
        defer { rollback.unwind() }
        let rootName = VMCtlNames.rootVolume(of: name)
        let root: StorageVolume
        switch mode {
        case .linked:
            root = try libvirt("cannot create disk '\(rootName)'") {
                try pool.createVolume(xml: VolumeDocument(
                    name: rootName, capacityBytes: sourceRootInfo.capacity, format: "qcow2",
                    backing: .init(path: try sourceRoot.path, format: "qcow2")).xml)
            }
        case .full:
            if let snapshot {
                root = try copySnapshot(snapshot, of: sourceRoot, named: rootName, capacity: sourceRootInfo.capacity, in: pool)
            } else {
                root = try storage.flattenedCopy(of: sourceRoot, named: rootName, progress: progress)
            }
        }
        rollback.add { try root.delete() }

        var pinned: [(mac: String, network: String)] = []
        for interface in sourceDocument.interfaces {
            let mac = Networks.newMAC()
            _ = try instances.networks.pin(mac: mac, name: name, on: interface.network)
            pinned.append((mac, interface.network))
            rollback.add { instances.networks.unpin(macs: [mac], on: interface.network) }
        }

        let instanceID = VMs.newInstanceID()
        let seedName = VMCtlNames.seedVolume(of: name)
        let sshKeys = sourceMetadata.sshKeys + [try SSHKeyStore().ensurePublicKey()]
        let seed = try instances.makeSeed(named: seedName, instanceID: instanceID, hostname: name,
                                          sshKeys: sshKeys, runCommands: [])
        rollback.add { try seed.delete() }

        var metadata = sourceMetadata
        metadata.instanceID = instanceID
        metadata.hostname = name
        metadata.created = ISO8601DateFormatter().string(from: Date())
        metadata.volumes = ["root": rootName, "seed": seedName]
        metadata.lab = nil  // a clone is the user's, not the lab's: a lab never deletes what it did not create
        // Host ports are unique: the source keeps its forwards, the clone gets none of them.
        metadata.forwards = []
        try Firewall(session: session).admit(newVM: .init(name: name, mac: pinned.first?.mac, metadata: metadata))
        var document = try Self.cloneDocument(
            of: sourceDocument, name: name, metadata: metadata,
            replacing: [sourceRootName: rootName, sourceMetadata.volumes["seed"] ?? "": seedName])
        for index in document.interfaces.indices { document.interfaces[index].mac = pinned[index].mac }
        let domain = try libvirt("cannot define VM '\(name)'") { try session.connection.defineDomain(xml: document.xml) }
        rollback.add { try domain.undefine(.everything) }
        if start {
            try libvirt("cannot start VM '\(name)'") { try domain.start() }
            try instances.reconcileFirewall()
        }
        rollback.commit()
        if !sourceMetadata.forwards.isEmpty {
            instances.notice("'\(name)' does not get \(sourceName)'s port forwards (a host port forwards to one VM): \(sourceMetadata.forwards.map(\.name).joined(separator: ", "))")
        }
        return try instances.summary(of: domain)
    }

    /// Makes a VM's disk independent of every backing file (its linked-clone source and its image), with a
    /// block pull in QEMU; a stopped VM is started paused for the pull, so its guest never runs.
    public func flatten(_ name: String, progress: Progress? = nil) throws {
        let domain = try instances.domain(named: name)
        let wasRunning = try domain.isActive
        if !wasRunning { try libvirt("cannot open '\(name)' for flattening") { try domain.start(paused: true) } }
        defer { if !wasRunning { try? domain.destroy() } }
        try libvirt("cannot flatten '\(name)'") { try domain.beginBlockPull(disk: "vda") }
        while let job = try libvirt("cannot follow flattening of '\(name)'", { try domain.blockJob(disk: "vda") }) {
            progress?.update(done: job.current, total: max(job.end, 1))
            (0.1 as Seconds).sleep()
        }
        progress?.finish()
        storage.refreshSoon(try storage.pool())
    }

    /// A flattened copy of the disk as it was at an internal snapshot. libvirt's storage API copies only a
    /// volume's current state, so qemu-img reads the snapshot into a volume the API made; `-U` lets it read
    /// the disk of a running source, whose snapshot data never changes.
    private func copySnapshot(_ snapshot: String, of source: StorageVolume, named name: String, capacity: UInt64,
                              in pool: StoragePool) throws -> StorageVolume {
        let volume = try libvirt("cannot create disk '\(name)'") {
            try pool.createVolume(xml: VolumeDocument(name: name, capacityBytes: capacity, format: "qcow2").xml)
        }
        do {
            try ProcessRunner.run("qemu-img", ["convert", "-n", "-U", "-f", "qcow2", "-O", "qcow2",
                                               "-l", "snapshot.name=\(snapshot)", try source.path, try volume.path])
        } catch {
            try? volume.delete()
            throw error
        }
        storage.refreshSoon(pool)
        return volume
    }

    /// The source's definition with a new identity: no UUID or MAC (libvirt makes new ones), its own disks
    /// and its own console log (a clone writing into the source's log would mix two guests' output).
    static func cloneDocument(of source: DomainDocument, name: String, metadata: VMMetadata,
                              replacing volumes: [String: String]) throws -> DomainDocument {
        var document = source
        document.name = name
        document.uuid = nil
        document.title = nil
        document.interfaces = source.interfaces.map { interface in
            var copy = interface
            copy.mac = nil
            return copy
        }
        document.disks = try source.disks.map { disk in
            var copy = disk
            guard case .volume(let pool, let volume) = disk.source, let replacement = volumes[volume] else {
                throw VMCtlError.invalid("disk \(disk.target) of '\(source.name)' is not a vmctl volume; clone it with virt-clone")
            }
            copy.source = .volume(pool: pool, volume: replacement)
            return copy
        }
        document.serialLogPath = VMCtlNames.serialLog(of: name)
        document.metadata = source.metadata.filter { $0.name != metadata.element.name } + [metadata.element]
        return document
    }
}

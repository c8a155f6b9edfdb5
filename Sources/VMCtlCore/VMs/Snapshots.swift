import Foundation
import Libvirt
import LibvirtXML

/// VM snapshots: create, list, revert, delete. Each call works on one VM, so a fleet-wide snapshot
/// (`snapshot create --lab`) can call it per VM.
public struct Snapshots {
    let session: Session
    let instances: VMs
    /// Where notices go (external snapshots' limits, records kept when deleting).
    let notice: (String) -> Void

    public init(session: Session, notice: @escaping (String) -> Void = { _ in }) {
        self.session = session
        self.instances = VMs(session: session)
        self.notice = notice
        // Unknown counts as oldest: revertRefusal then refuses what an old libvirt cannot do.
        self.libraryVersion = (try? session.connection.libraryVersion) ?? (0, 0, 0)
    }

    /// The daemon's libvirt version: what it can do with external snapshots depends on it.
    let libraryVersion: (major: Int, minor: Int, release: Int)

    private var versionText: String {
        let version = libraryVersion
        return "\(version.major).\(version.minor).\(version.release)"
    }

    // MARK: Plan and create

    /// What `create` would do, without doing it (it throws what `create` would refuse).
    public func plan(vm: String, name: String, description: String? = nil, diskOnly: Bool = false) throws -> SnapshotPlan {
        try ResourceName.validate(name, kind: "snapshot")
        return try plan(domain: instances.domain(named: vm), vm: vm, name: name, description: description, diskOnly: diskOnly)
    }

    private func plan(domain: Domain, vm: String, name: String, description: String?, diskOnly: Bool) throws -> SnapshotPlan {
        let (isActive, xml, all, external) = try libvirt("cannot read VM '\(vm)'") {
            (try domain.isActive, try domain.xml(), try domain.listAllSnapshots().map(\.name),
             Set(try domain.listAllSnapshots(.external).map(\.name)))
        }
        let existing = Dictionary(all.map { ($0, external.contains($0) ? SnapshotInfo.Kind.external : .internal) },
                                  uniquingKeysWith: { first, _ in first })
        let subject = try SnapshotSubject(domainXML: xml, isActive: isActive)
        var directories: [String: String] = [:]
        // Pool directories matter only for the overlays of an external snapshot.
        for disk in subject.disks where isActive && diskOnly {
            guard case .volume(let pool, _) = disk.source, directories[pool] == nil else { continue }
            directories[pool] = try? StoragePoolDocument(xml: session.connection.lookupStoragePool(name: pool).xml()).targetPath
        }
        return try SnapshotPlan.make(subject: subject, name: name, description: description, diskOnly: diskOnly,
                                     existing: existing, volumeDirectories: directories)
    }

    /// Takes a snapshot: with RAM when the VM runs (unless `diskOnly`), of its disks when it is stopped.
    /// Everything the plan refuses is refused before libvirt is asked for anything.
    public func create(vm: String, name: String, description: String? = nil, diskOnly: Bool = false) throws -> SnapshotInfo {
        try ResourceName.validate(name, kind: "snapshot")
        let domain = try instances.domain(named: vm)
        let plan = try plan(domain: domain, vm: vm, name: name, description: description, diskOnly: diskOnly)
        var flags: SnapshotCreateFlags = [.atomic]
        if plan.diskOnlyFlag { flags.insert(.diskOnly) }
        let snapshot = try libvirt("cannot snapshot VM '\(vm)'") { try domain.createSnapshot(xml: plan.document.xml, flags) }
        if plan.kind == .external {
            recordOverlays(plan.overlays, snapshot: name, domain: domain, vm: vm)
        }
        return try info(of: snapshot, vm: vm)
    }

    /// Adds an external snapshot's overlay volumes to vmctl's record of the VM, so `vmctl delete` removes them.
    private func recordOverlays(_ overlays: [String: String], snapshot: String, domain: Domain, vm: String) {
        do {
            let connection = session.connection
            let recorded = try updateMetadata(of: domain) { metadata in
                for (disk, path) in overlays {
                    let volume = (try? connection.lookupStorageVolume(path: path).name) ?? path
                    metadata.volumes["snapshot-\(snapshot)-\(disk)"] = volume
                }
            }
            if !recorded {
                notice("VM '\(vm)' is not managed by vmctl: remove its overlay files yourself when it goes: "
                       + overlays.values.sorted().joined(separator: ", "))
            }
        } catch {
            notice("snapshot '\(snapshot)' was made, but its overlays could not be recorded for 'vmctl delete': \(error)")
        }
    }

    /// Drops deleted external snapshots' overlays from vmctl's record once libvirt has removed their files.
    private func forgetOverlays(of snapshots: [String], domain: Domain) {
        let pool = try? session.connection.lookupStoragePool(name: VMCtlNames.storagePool)
        _ = try? updateMetadata(of: domain) { metadata in
            for (role, volume) in metadata.volumes where snapshots.contains(where: { role.hasPrefix("snapshot-\($0)-") }) {
                if (try? pool?.lookupVolume(name: volume)) == nil { metadata.volumes[role] = nil }
            }
        }
    }

    /// Rewrites vmctl's metadata of the domain after the pool has been refreshed (so new overlay volumes are
    /// known); false when the domain has none (vmctl did not create it).
    private func updateMetadata(of domain: Domain, _ change: (inout VMMetadata) throws -> Void) throws -> Bool {
        if let pool = try? session.connection.lookupStoragePool(name: VMCtlNames.storagePool) { Storage(session: session).refreshSoon(pool) }
        guard (try domain.metadata(namespaceURI: VMCtlNames.metadataNamespace)) != nil else { return false }
        try VMs(session: session).updateMetadata(of: domain.name, change)
        return true
    }

    // MARK: List

    /// The VM's snapshots in tree order (parents before children).
    public func list(vm: String) throws -> [SnapshotInfo] {
        let domain = try instances.domain(named: vm)
        let snapshots = try libvirt("cannot list snapshots of VM '\(vm)'") { try domain.listAllSnapshots() }
        return SnapshotInfo.tree(try snapshots.map { try info(of: $0, vm: vm) }).map(\.snapshot)
    }

    public func info(vm: String, name: String) throws -> SnapshotInfo {
        let domain = try instances.domain(named: vm)
        return try info(of: lookup(domain: domain, vm: vm, name: name), vm: vm)
    }

    private func info(of snapshot: DomainSnapshot, vm: String) throws -> SnapshotInfo {
        let (xml, current) = try libvirt("cannot read snapshot '\(snapshot.name)' of VM '\(vm)'") {
            (try snapshot.xml(), try snapshot.isCurrent)
        }
        return SnapshotInfo(vm: vm, document: try SnapshotDocument(xml: xml), current: current,
                            libraryVersion: libraryVersion)
    }

    private func lookup(domain: Domain, vm: String, name: String) throws -> DomainSnapshot {
        do {
            return try domain.lookupSnapshot(name: name)
        } catch let error as LibvirtError where error.isNotFound {
            throw VMCtlError(.notFound, "snapshot '\(ResourceName.printable(name))' of VM '\(vm)' not found")
        } catch let error as LibvirtError {
            throw error.context("cannot look up snapshot '\(ResourceName.printable(name))' of VM '\(vm)'")
        }
    }

    // MARK: Revert

    /// Puts the VM back to the snapshot: a snapshot with RAM resumes the guest running where it was; a disk
    /// snapshot leaves the VM stopped with the disks as they were.
    @discardableResult
    public func revert(vm: String, name: String) throws -> SnapshotInfo {
        let domain = try instances.domain(named: vm)
        let snapshot = try lookup(domain: domain, vm: vm, name: name)
        let before = try info(of: snapshot, vm: vm)
        if let refusal = SnapshotPlan.revertRefusal(of: before, libraryVersion: libraryVersion) {
            throw VMCtlError.conflict(refusal)
        }
        try instances.requireNoLinkedClones(of: try instances.document(of: domain, inactive: true), toward: "revert")
        do {
            try snapshot.revert()
        } catch let error as LibvirtError where error.isRevertRisky {
            // The VM's definition changed since the snapshot (a resize, say): libvirt then restarts QEMU from the
            // snapshot's definition instead of loading the state into the running one, and wants that confirmed.
            // Going back to the snapshot's definition is what a revert means, so vmctl confirms it and says so.
            notice("VM '\(vm)' changed since snapshot '\(name)': restarting it from the snapshot's definition "
                   + "(\(error.message))")
            try libvirt("cannot revert VM '\(vm)' to snapshot '\(name)'") { try snapshot.revert(.force) }
        } catch let error as LibvirtError {
            throw error.context("cannot revert VM '\(vm)' to snapshot '\(name)'")
        }
        return before.with(current: true)
    }

    // MARK: Delete

    /// Deletes the snapshot (its children move up to its parent), or with `children` the snapshot and all
    /// below it. Returns the names deleted, children first. Deleting an external snapshot merges its overlay
    /// back (libvirt block commit) and removes the overlay file.
    @discardableResult
    public func delete(vm: String, name: String, children: Bool = false) throws -> [String] {
        let domain = try instances.domain(named: vm)
        let snapshot = try lookup(domain: domain, vm: vm, name: name)
        let descendants = children
            ? try libvirt("cannot list children of snapshot '\(name)'") { try snapshot.children(recursive: true) }
            : []
        let targets = try ([snapshot] + descendants).map { handle -> (handle: DomainSnapshot, info: SnapshotInfo, xml: String) in
            let xml = try libvirt("cannot read snapshot '\(handle.name)' of VM '\(vm)'") { try handle.xml() }
            return (handle, try info(of: handle, vm: vm), xml)
        }
        let current = try libvirt("cannot read VM '\(vm)'") {
            try SnapshotSubject(domainXML: domain.xml(), isActive: domain.isActive)
        }
        let all = try libvirt("cannot list snapshots of VM '\(vm)'") { try domain.listAllSnapshots() }
            .map { try info(of: $0, vm: vm) }
        if let refusal = SnapshotPlan.deleteRefusal(
            vm: vm, targets: targets.map { ($0.info, $0.xml) }, all: all, domain: current) {
            throw VMCtlError.conflict(refusal)
        }
        let order = SnapshotInfo.tree(targets.map(\.info)).reversed().map(\.snapshot.name)
        if targets.allSatisfy({ $0.info.kind == .internal }) {
            try libvirt("cannot delete snapshot '\(name)' of VM '\(vm)'") {
                try snapshot.delete(children ? [.children] : [])
            }
            return order
        }
        // External snapshots one at a time, children first: each is a block commit of the newest overlay.
        let handles = Dictionary(uniqueKeysWithValues: targets.map { ($0.info.name, $0.handle) })
        var deleted: [String] = []
        defer { if !deleted.isEmpty { forgetOverlays(of: deleted, domain: domain) } }
        for snapshotName in order {
            guard let handle = handles[snapshotName] else { continue }
            try libvirt("cannot delete snapshot '\(snapshotName)' of VM '\(vm)'"
                        + (deleted.isEmpty ? "" : " (deleted before it: \(deleted.joined(separator: ", ")))")) {
                try handle.delete()
            }
            deleted.append(snapshotName)
        }
        return deleted
    }
}

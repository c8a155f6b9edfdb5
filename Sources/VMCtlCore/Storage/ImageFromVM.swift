import Foundation
import Libvirt
import LibvirtXML

/// `vmctl image create --from VM NAME`: a standalone image holding what a stopped VM's root disk holds
/// (like `docker commit` or VirtualBox's `clonemedium`). The daemon makes the copy (no data crosses the
/// connection); its dir backend flattens the overlay and its image with `qemu-img convert`.
public struct ImageFromVM {
    let session: Session
    let storage: Storage

    public init(session: Session) {
        self.session = session
        self.storage = Storage(session: session)
    }

    public func create(from vmName: String, name: String, progress: Progress? = nil) throws -> ImageInfo {
        try ResourceName.validate(vmName, kind: "VM")
        try ResourceName.validate(name, kind: "image")
        let source = try storage.stoppedRootDisk(of: vmName, action: "making an image of it")
        if let existing = try storage.existingImage(named: name) {
            throw VMCtlError(.alreadyExists, "image '\(name)' already exists (\(existing.info.format), \(ByteSize(bytes: existing.info.virtualSize)))")
        }
        let volumeName = VMCtlNames.imageVolume(name, format: ImageFile.Format.qcow2.rawValue)
        _ = try storage.flattenedCopy(of: source.volume, named: volumeName, progress: progress)
        return try storage.image(named: name).info
    }
}

extension Storage {
    /// The root disk of a VM that is shut off. A running guest keeps writing, and its page cache holds
    /// writes the disk does not have yet, so a copy would be torn: such VMs are refused.
    func stoppedRootDisk(of vmName: String, action: String) throws -> StoppedRootDisk {
        let domain: Domain
        do {
            domain = try session.connection.lookupDomain(name: vmName)
        } catch let error as LibvirtError where error.isNotFound {
            throw VMCtlError.notFound("VM", vmName)
        }
        guard try !domain.isActive else {
            throw VMCtlError.conflict("VM '\(vmName)' is running; stop it before \(action): vmctl stop \(vmName)")
        }
        let document = try DomainDocument(xml: domain.xml([.inactive]))
        let metadata = VMMetadata(domain: document)
        let pool = try pool()
        let volume: StorageVolume?
        if let root = metadata?.volumes["root"] {
            volume = try libvirt("cannot find \(vmName)'s disk '\(root)'") { try unlessVanished { try pool.lookupVolume(name: root) } }
        } else {
            // Not made by vmctl: the first writable disk, if it is a volume libvirt knows.
            volume = try document.disks.first { !$0.isReadOnly }.flatMap { disk -> StorageVolume? in
                try libvirt("cannot find \(vmName)'s disk") {
                    try unlessVanished {
                        switch disk.source {
                        case .volume(let poolName, let name):
                            try session.connection.lookupStoragePool(name: poolName).lookupVolume(name: name)
                        case .file(let path):
                            try session.connection.lookupStorageVolume(path: path)
                        }
                    }
                }
            }
        }
        guard let volume else { throw VMCtlError(.notFound, "VM '\(vmName)' has no root disk volume in a storage pool") }
        return StoppedRootDisk(domain: domain, document: document, metadata: metadata, volume: volume)
    }

    /// A standalone qcow2 copy of `source` (its backing chain read through), made by the daemon.
    /// While the blocking copy runs, a second thread reports the new volume's growth.
    func flattenedCopy(of source: StorageVolume, named volumeName: String, progress: Progress?) throws -> StorageVolume {
        let pool = try pool()
        let capacity = try libvirt("cannot read volume '\(source.name)'") { try source.info().capacity }
        let document = VolumeDocument(name: volumeName, capacityBytes: capacity, format: ImageFile.Format.qcow2.rawValue)
        let watcher = progress.map { AllocationWatcher(pool: pool, volumeName: volumeName,
                                                       estimate: chainAllocation(of: source), progress: $0) }
        watcher?.start()
        let copy: StorageVolume
        do {
            // On failure the daemon removes the half-made volume itself.
            copy = try libvirt("cannot copy '\(source.name)' to '\(volumeName)'") {
                try pool.createVolume(xml: document.xml, copying: source)
            }
        } catch {
            watcher?.stop()
            progress?.finish()
            throw error
        }
        watcher?.stop()
        if let progress {
            let allocation = (try? copy.info().allocation) ?? 0
            progress.update(done: allocation, total: allocation)
            progress.finish()
        }
        return copy
    }

    /// Bytes allocated along a volume's backing chain: about what a flattened copy will hold.
    private func chainAllocation(of volume: StorageVolume) -> UInt64 {
        var total: UInt64 = 0
        var current: StorageVolume? = volume
        // A chain is short (overlay on image); the bound guards against a loop in odd setups.
        for _ in 0..<8 {
            guard let volume = current, let document = try? VolumeDocument(xml: volume.xml()) else { break }
            total += (try? volume.info().allocation) ?? 0
            current = document.backing.flatMap { try? session.connection.lookupStorageVolume(path: $0.path) }
        }
        return total
    }
}

import Foundation
import Libvirt
import LibvirtXML

/// vmctl's storage pool and what it holds, through the storage API only (so remote URIs work too).
public struct Storage {
    let session: Session
    static let imagePrefix = "image-"

    public init(session: Session) { self.session = session }

    /// The pool, defined, built and started on first use.
    public func pool() throws -> StoragePool {
        let connection = session.connection
        let pool: StoragePool
        do {
            pool = try connection.lookupStoragePool(name: VMCtlNames.storagePool)
        } catch let error as LibvirtError where error.isNotFound {
            let document = StoragePoolDocument(name: VMCtlNames.storagePool, targetPath: VMCtlPaths.poolDirectory)
            pool = try libvirt("cannot define storage pool '\(VMCtlNames.storagePool)'") {
                try connection.defineStoragePool(xml: document.xml)
            }
            try libvirt("cannot create the pool directory \(VMCtlPaths.poolDirectory)") { try pool.build() }
            try? pool.setAutostart(true)
        }
        if try !pool.isActive {
            // Built as it starts: an inactive pool may have lost its directory (a host cleaned while
            // libvirtd was down keeps the definition), and the build keeps a directory that is there.
            try libvirt("cannot start storage pool '\(VMCtlNames.storagePool)'") { try pool.start(building: true) }
        }
        return pool
    }

    /// The pool if it already exists (read-only callers should not create it).
    public func existingPool() throws -> StoragePool? {
        do {
            return try session.connection.lookupStoragePool(name: VMCtlNames.storagePool)
        } catch let error as LibvirtError where error.isNotFound {
            return nil
        }
    }

    public func images() throws -> [ImageInfo] {
        guard let pool = try existingPool(), try pool.isActive else { return [] }
        return try pool.listAllVolumes().compactMap { volume in
            guard volume.name.hasPrefix(Self.imagePrefix) else { return nil }
            return try unlessVanished { try imageInfo(volume) }
        }.sorted { $0.name < $1.name }
    }

    public func image(named name: String) throws -> (info: ImageInfo, volume: StorageVolume) {
        let pool = try pool()
        for format in ImageFile.Format.allCases {
            let volumeName = VMCtlNames.imageVolume(name, format: format.rawValue)
            if let volume = try libvirt("cannot look up image '\(name)'", { try unlessVanished { try pool.lookupVolume(name: volumeName) } }) {
                return (try imageInfo(volume), volume)
            }
        }
        throw VMCtlError.notFound("image", name, known: try images().map(\.name))
    }

    /// The image, or nil when there is none; failing to look is an error, not an absence.
    func existingImage(named name: String) throws -> (info: ImageInfo, volume: StorageVolume)? {
        do {
            return try image(named: name)
        } catch let error as VMCtlError where error.code == .notFound {
            return nil
        }
    }

    private func imageInfo(_ volume: StorageVolume) throws -> ImageInfo {
        let document = try VolumeDocument(xml: volume.xml())
        let base = volume.name.dropFirst(Self.imagePrefix.count)
        let name = base.split(separator: ".").first.map(String.init) ?? String(base)
        return ImageInfo(name: name, format: document.format, virtualSize: document.capacityBytes,
                         allocation: document.allocationBytes, volume: volume.name, path: try volume.path)
    }

    /// Uploads a local image file into the pool as image `name`.
    public func importImage(file source: LocalFilePath, name: String, progress: Progress? = nil) throws -> ImageInfo {
        try ResourceName.validate(name, kind: "image")
        let path = source.text
        let file = try ImageFile.inspect(source)
        if let existing = try existingImage(named: name) {
            throw VMCtlError(.alreadyExists, "image '\(name)' already exists (\(existing.info.format), \(ByteSize(bytes: existing.info.virtualSize)))")
        }
        let volumeName = VMCtlNames.imageVolume(name, format: file.format.rawValue)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VMCtlError.system("cannot open '\(path)'") }
        defer { close(fd) }
        let volume = try upload(fileDescriptor: fd, size: file.fileSize, volumeName: volumeName, progress: progress)
        return try imageInfo(volume)
    }

    /// Creates a volume holding exactly the given bytes (seeds, small files).
    func upload(bytes: [UInt8], volumeName: String) throws -> StorageVolume {
        let pool = try pool()
        let document = VolumeDocument(name: volumeName, capacityBytes: UInt64(bytes.count), format: "raw")
        let volume = try libvirt("cannot create volume '\(volumeName)'") { try pool.createVolume(xml: document.xml) }
        do {
            let stream = try session.connection.newStream()
            try volume.beginUpload(stream, length: UInt64(bytes.count))
            try bytes.withUnsafeBytes { try stream.send($0) }
            try stream.finish()
        } catch {
            try? volume.delete()
            throw (error as? LibvirtError)?.context("cannot upload volume '\(volumeName)'") ?? error
        }
        return volume
    }

    /// Streams a file into a new volume; the daemon then probes the real format (qcow2 or raw).
    private func upload(fileDescriptor fd: Int32, size: UInt64, volumeName: String, progress: Progress?) throws -> StorageVolume {
        let pool = try pool()
        let document = VolumeDocument(name: volumeName, capacityBytes: size, format: "raw")
        let volume = try libvirt("cannot create volume '\(volumeName)'") { try pool.createVolume(xml: document.xml) }
        do {
            let stream = try session.connection.newStream()
            try volume.beginUpload(stream, length: size)
            try stream.send(fileDescriptor: fd) { sent in progress?.update(done: sent, total: size) }
            try stream.finish()
            progress?.finish()
            refreshSoon(pool)
            return try pool.lookupVolume(name: volumeName)
        } catch {
            try? volume.delete()
            throw (error as? LibvirtError)?.context("cannot upload '\(volumeName)'") ?? error
        }
    }

    /// Deletes an image unless a disk still reads through to it.
    public func deleteImage(named name: String) throws {
        let (image, volume) = try image(named: name)
        let users = try dependents(ofPath: image.path)
        guard users.isEmpty else {
            throw VMCtlError.conflict("image '\(name)' is the base of \(users.joined(separator: ", ")); delete those first")
        }
        try libvirt("cannot delete image '\(name)'") { try volume.delete() }
    }

    /// Who reads through to the volume at `path`: VMs (by name) whose disks are overlays on it, and
    /// overlays no VM uses (by volume name). Checked on the volumes themselves, so VMs made by other tools
    /// count too. Fails closed: a volume or VM removed meanwhile is skipped, but one that cannot be read is an
    /// error, since it may be the one that reads through to `path`.
    func dependents(ofPath path: String) throws -> [String] {
        let volumes = try libvirt("cannot list the volumes of pool '\(VMCtlNames.storagePool)'") { try pool().listAllVolumes() }
        let overlays = try volumes.filter { volume in
            let xml = try libvirt("cannot read volume '\(volume.name)'") { try unlessVanished { try volume.xml() } }
            return try xml.map { try VolumeDocument(xml: $0).backing?.path } == path
        }
        var unclaimed = Set(overlays.map(\.name))
        let overlayPaths = Dictionary(try overlays.compactMap { volume in
            try libvirt("cannot read volume '\(volume.name)'") { try unlessVanished { try volume.path } }.map { ($0, volume.name) }
        }, uniquingKeysWith: { first, _ in first })
        var users: [String] = []
        for domain in try libvirt("cannot list VMs", { try session.connection.listAllDomains() }) {
            guard let xml = try libvirt("cannot read VM '\(domain.name)'", { try unlessVanished { try domain.xml([.inactive]) } })
            else { continue }
            let document = try DomainDocument(xml: xml)
            let claimed = document.disks.compactMap { disk -> String? in
                switch disk.source {
                case .volume(let pool, let volume): pool == VMCtlNames.storagePool && unclaimed.contains(volume) ? volume : nil
                case .file(let path): overlayPaths[path]
                }
            }
            if !claimed.isEmpty { users.append("VM \(domain.name)") }
            unclaimed.subtract(claimed)
        }
        return users.sorted() + unclaimed.sorted().map { "volume \($0)" }
    }

    /// A copy-on-write qcow2 disk on top of an image: created in constant time whatever the image's size.
    func createOverlay(named volumeName: String, on image: ImageInfo, capacity: UInt64) throws -> StorageVolume {
        let pool = try pool()
        let document = VolumeDocument(
            name: volumeName, capacityBytes: capacity, format: "qcow2",
            backing: .init(path: image.path, format: image.format))
        return try libvirt("cannot create disk '\(volumeName)'") { try pool.createVolume(xml: document.xml) }
    }

    /// Refreshes the pool so libvirt re-reads volume formats after an upload. The daemon refuses while any
    /// copy runs in the pool (other users' too) and refreshes by itself after an upload, so this waits a
    /// little and then goes on without it.
    func refreshSoon(_ pool: StoragePool) {
        _ = poll(timeout: 10, interval: 0.2) { (try? pool.refresh()) != nil ? true : nil }
    }

    /// Every volume in vmctl's pool; none when the pool was never made.
    func allVolumes() throws -> [StorageVolume] {
        guard let pool = try existingPool(), try pool.isActive else { return [] }
        return try libvirt("cannot list the volumes of pool '\(VMCtlNames.storagePool)'") { try pool.listAllVolumes() }
    }
}

import Foundation
import Libvirt
import LibvirtXML

/// `vmctl export VM FILE` and `vmctl import FILE`: a VM as one archive (see `ExportArchiveWriter` for its
/// layout), moved between hosts or kept as a backup, like VirtualBox's OVA export and import.
public struct VMExport {
    let session: Session
    let storage: Storage
    let instances: VMs
    let notice: (String) -> Void

    public init(session: Session, notice: @escaping (String) -> Void = { _ in }) {
        self.session = session
        self.storage = Storage(session: session)
        self.instances = VMs(session: session, notice: notice)
        self.notice = notice
    }

    // MARK: Export

    /// Writes the stopped VM `vmName` to a new archive at `path`. The archive appears under its name only
    /// once complete; the temporary flattened volume is removed whatever happens.
    public func export(_ vmName: String, to file: LocalFilePath, progress: ((String) -> Progress)? = nil) throws -> ExportResult {
        try ResourceName.validate(vmName, kind: "VM")
        let path = file.text
        let vm = try storage.stoppedRootDisk(of: vmName, action: "exporting it")
        guard let metadata = vm.metadata else {
            throw VMCtlError.invalid("VM '\(vmName)' was not created by vmctl; only vmctl's VMs can be exported")
        }
        guard let network = vm.document.interfaces.first?.network else {
            throw VMCtlError.invalid("VM '\(vmName)' has no network interface to record")
        }
        guard !FileManager.default.fileExists(atPath: path) else {
            throw VMCtlError(.alreadyExists, "'\(path)' already exists; remove it or choose another file name")
        }
        let output = try ExportFile(creatingNextTo: path)
        defer { output.discardUnlessCommitted() }

        // Held while the temporary copy exists, so list and delete do not take it for a leftover; what a
        // killed export of this VM left is removed now, as a user re-running the export expects.
        let exporting = session.isLocal ? try HostLock.acquire(VMCtlNames.exportLock(of: vmName)) : nil
        defer { exporting?.release() }
        if session.isLocal { try instances.removeExportLeftovers(of: vmName) }
        let tempName = VMCtlNames.exportVolume(of: vmName)
        let temp = try storage.flattenedCopy(of: vm.volume, named: tempName, progress: progress?("flattening \(vmName)"))
        defer { try? temp.delete() }
        let size = try libvirt("cannot read volume '\(tempName)'") { try temp.physicalSize() }
        let virtualSize = try libvirt("cannot read volume '\(tempName)'") { try temp.info().capacity }

        let now = Date()
        let disk = ExportManifest.Disk(role: "root", file: ExportManifest.Disk.rootFileName, format: "qcow2",
                                       virtualSize: virtualSize, size: size)
        let manifest = ExportManifest(
            exported: ISO8601DateFormatter().string(from: now),
            vm: .init(name: vmName, image: metadata.image, flavor: metadata.flavor, cpus: vm.document.vcpus,
                      memory: ByteSize(bytes: vm.document.currentMemoryKiB << 10), disk: ByteSize(bytes: virtualSize),
                      network: network, accelerator: metadata.accelerator.isEmpty ? nil : metadata.accelerator),
            disks: [disk])
        // What this vmctl writes, its import must read: check before writing anything.
        try manifest.validate()

        let tar = TarWriter { try output.append($0) }
        let archive = ExportArchiveWriter(tar: tar, modificationTime: UInt64(now.timeIntervalSince1970))
        try archive.writeManifest(manifest)
        let bar = progress?("exporting \(vmName)")
        var barOpen = false
        // End the bar's line on failure so the error gets a line of its own.
        defer { if barOpen { bar?.finish() } }
        let stream = try libvirt("cannot download '\(tempName)'") {
            let stream = try session.connection.newStream()
            try temp.beginDownload(stream, length: size)
            return stream
        }
        try archive.writeDisk(disk) { write in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            var received: UInt64 = 0
            while true {
                let count = try libvirt("cannot download '\(tempName)'") { try stream.receive(into: buffer) }
                if count == 0 { break }
                try write(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                received += UInt64(count)
                bar?.update(done: received, total: size)
                barOpen = true
            }
        }
        try libvirt("cannot download '\(tempName)'") { try stream.finish() }
        bar?.finish()
        barOpen = false
        try archive.finish()
        try output.commit()
        return ExportResult(vm: vmName, file: path, bytes: tar.bytesWritten, diskBytes: size, diskVirtualSize: virtualSize)
    }

    // MARK: Import

    /// Defines a VM from an archive, as `create` does, with a fresh identity (instance-id, MAC, UUID).
    /// The archive is read once, front to back; its disk streams into the new VM's root volume and is
    /// kept only if every checksum matches.
    public func importArchive(
        file: LocalFilePath, name: String? = nil, network: String? = nil, start: Bool,
        progress: ((String) -> Progress)? = nil
    ) throws -> VMSummary {
        let path = file.text
        if let name { try ResourceName.validate(name, kind: "VM") }
        if let network { try ResourceName.validate(network, kind: "network") }
        let input = try ExportFile(readingFrom: path)
        let reader = ExportArchiveReader(tar: TarReader { try input.readSome(into: $0) })
        let manifest: ExportManifest
        do {
            manifest = try reader.readManifest()
        } catch let error as VMCtlError {
            // Said with the file's name: this is where a wrong file (not an archive at all) shows.
            throw error.prefixed("'\(path)'")
        }
        guard let disk = manifest.rootDisk else { throw VMCtlError.invalid("'\(path)' has no root disk") }
        let vmName = name ?? manifest.vm.name
        // Flavors are recorded, not needed (sizes are explicit); one this vmctl does not know is dropped.
        var flavor = manifest.vm.flavor
        if let known = flavor, (try? Flavor.named(known)) == nil {
            notice("flavor '\(known)' of the exported VM is not known here; importing with its sizes only")
            flavor = nil
        }
        let spec = try VMSpec(
            name: vmName, image: manifest.vm.image, flavor: flavor, cpus: manifest.vm.cpus,
            memory: manifest.vm.memory, disk: manifest.vm.disk, network: network ?? manifest.vm.network)
        // Stands in for the image in `create`'s checks and metadata; the root disk is the archive's, not an overlay.
        let image = ImageInfo(name: manifest.vm.image, format: disk.format, virtualSize: disk.virtualSize,
                              allocation: disk.size, volume: disk.file, path: path)
        return try instances.create(spec, start: start, imageProvider: { _ in image }) { rootName, _ in
            try storage.importDisk(from: reader, named: rootName, size: disk.size,
                                   progress: progress?("importing \(vmName)"))
        }
    }
}

extension Storage {
    /// Streams the archive's disk member into a new volume while hashing it, then checks SHA256SUMS.
    /// The volume is made only after the disk's header passed its checks, and removed on any failure.
    func importDisk(from reader: ExportArchiveReader, named volumeName: String, size: UInt64,
                    progress: Progress?) throws -> StorageVolume {
        let pool = try pool()
        var volume: StorageVolume?
        var stream: Libvirt.Stream?
        var barOpen = false
        do {
            var sent: UInt64 = 0
            try reader.readDisk { piece in
                if stream == nil {
                    // Created raw: the upload replaces its bytes with the qcow2 file; the pool refresh below
                    // then reads the real format from the file, as `importImage` does.
                    let document = VolumeDocument(name: volumeName, capacityBytes: size, format: "raw")
                    let made = try libvirt("cannot create volume '\(volumeName)'") { try pool.createVolume(xml: document.xml) }
                    volume = made
                    stream = try libvirt("cannot upload '\(volumeName)'") {
                        let stream = try session.connection.newStream()
                        try made.beginUpload(stream, length: size)
                        return stream
                    }
                }
                try libvirt("cannot upload '\(volumeName)'") { try stream?.send(piece) }
                sent += UInt64(piece.count)
                progress?.update(done: sent, total: size)
                barOpen = true
            }
            try libvirt("cannot upload '\(volumeName)'") { try stream?.finish() }
            progress?.finish()
            barOpen = false
            try reader.verify()
            refreshSoon(pool)
            return try libvirt("cannot find volume '\(volumeName)'") { try pool.lookupVolume(name: volumeName) }
        } catch {
            // End the bar's line so the error gets a line of its own.
            if barOpen { progress?.finish() }
            stream?.abort()
            if let volume { try? volume.delete() }
            throw error
        }
    }
}

import Crypto

/// Reads an export archive front to back, hashing each member as it passes; nothing is trusted until
/// `verify()` has compared the hashes with SHA256SUMS.
public final class ExportArchiveReader {
    private let tar: TarReader
    private var computed = SHA256Sums()
    public private(set) var manifest: ExportManifest?

    public init(tar: TarReader) { self.tar = tar }

    /// Archive bytes read so far (for progress).
    public var bytesRead: UInt64 { tar.bytesRead }

    /// Reads and validates `vmctl.json`, which must be the first member.
    public func readManifest() throws -> ExportManifest {
        let header = try expectMember(ExportManifest.fileName)
        let bytes = try tar.readAll(limit: ExportManifest.largestTextMember)
        guard UInt64(bytes.count) == header.size else { throw VMCtlError.invalid("truncated archive: it ends inside '\(header.name)'") }
        computed.add(name: header.name, digest: SHA256Hex.of(bytes))
        let manifest = try ExportManifest.decode(bytes)
        self.manifest = manifest
        return manifest
    }

    /// Streams the root disk member to `consume`. The first piece holds at least the qcow2 header, which
    /// is checked before anything is passed on: a disk naming a backing file or an external data file would
    /// make the host's QEMU open a path on the host, so such archives are refused.
    public func readDisk(chunkSize: Int = 1 << 20, consume: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let disk = manifest?.rootDisk else { preconditionFailure("readManifest() first") }
        let header = try expectMember(disk.file)
        guard header.size == disk.size else {
            throw VMCtlError.invalid("invalid export: '\(disk.file)' holds \(header.size) bytes, \(ExportManifest.fileName) says \(disk.size)")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(chunkSize, TarHeader.blockSize), alignment: 16)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        var first = true
        while true {
            let count = try tar.read(into: buffer)
            if count == 0 { break }
            let piece = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            if first {
                try Self.checkQcow2Header(Array(piece), disk: disk)
                first = false
            }
            hasher.update(bufferPointer: piece)
            try consume(piece)
        }
        computed.add(name: disk.file, digest: hasher.finalize().hex)
    }

    /// Reads SHA256SUMS and the end of the archive, then compares every member's hash.
    public func verify() throws {
        let header = try expectMember(ExportManifest.checksumsFileName)
        let bytes = try tar.readAll(limit: ExportManifest.largestTextMember)
        guard UInt64(bytes.count) == header.size else { throw VMCtlError.invalid("truncated archive: it ends inside '\(header.name)'") }
        let expected = try SHA256Sums(parsing: String(decoding: bytes, as: UTF8.self))
        if let extra = try tar.next() {
            throw VMCtlError.invalid("unexpected member '\(ResourceName.printable(extra.name))' after \(ExportManifest.checksumsFileName) in the archive")
        }
        try expected.verify(computed: computed)
    }

    private func expectMember(_ name: String) throws -> TarHeader {
        guard let header = try tar.next() else {
            throw VMCtlError.invalid("truncated archive: '\(name)' is missing (the archive ends early)")
        }
        guard header.name == name else {
            throw VMCtlError.invalid("not a vmctl export archive: expected '\(name)', found '\(ResourceName.printable(header.name))'")
        }
        guard header.kind == .regularFile else { throw VMCtlError.invalid("invalid export: '\(name)' is not a regular file") }
        return header
    }

    static func checkQcow2Header(_ bytes: [UInt8], disk: ExportManifest.Disk) throws {
        let where_ = "'\(disk.file)' in the archive"
        let image = try ImageFile.inspect(header: bytes, fileSize: disk.size, path: where_)
        guard image.format == .qcow2, bytes.count >= 104 else { throw VMCtlError.invalid("invalid export: \(where_) is not a qcow2 image") }
        func bigEndian(_ offset: Int, _ count: Int) -> UInt64 {
            bytes[offset..<offset + count].reduce(0) { $0 << 8 | UInt64($1) }
        }
        // Version 3 headers carry incompatible-feature bits; bit 2 is an external data file (a host path).
        if bigEndian(4, 4) >= 3, bigEndian(72, 8) & (1 << 2) != 0 {
            throw VMCtlError.invalid("invalid export: \(where_) uses an external data file")
        }
        guard image.virtualSize == disk.virtualSize else {
            throw VMCtlError.invalid("invalid export: \(where_) is \(image.virtualSize) bytes to the guest, \(ExportManifest.fileName) says \(disk.virtualSize)")
        }
    }
}

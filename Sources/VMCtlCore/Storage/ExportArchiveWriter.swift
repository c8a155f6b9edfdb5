import Crypto

/// The layout of a vmctl export archive, apart from libvirt: a ustar tar holding, in this order,
/// `vmctl.json` (the manifest), `disk-root.qcow2` (the flattened root disk) and `SHA256SUMS` (a checksum
/// per member, like an OVA's manifest). The sums come last because the disk is hashed while it streams.
public final class ExportArchiveWriter {
    private let tar: TarWriter
    private let modificationTime: UInt64
    private var sums = SHA256Sums()

    public init(tar: TarWriter, modificationTime: UInt64) {
        self.tar = tar
        self.modificationTime = modificationTime
    }

    public func writeManifest(_ manifest: ExportManifest) throws {
        let bytes = try manifest.encoded()
        try tar.addMember(name: ExportManifest.fileName, contents: bytes, modificationTime: modificationTime)
        sums.add(name: ExportManifest.fileName, digest: SHA256Hex.of(bytes))
    }

    /// Streams a disk member: `produce` hands over the disk's bytes piece by piece, in order, and must
    /// deliver exactly `disk.size` of them.
    public func writeDisk(
        _ disk: ExportManifest.Disk, produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        try tar.beginMember(TarHeader(name: disk.file, size: disk.size, modificationTime: modificationTime))
        var hasher = SHA256()
        try produce { piece in
            try tar.write(piece)
            hasher.update(bufferPointer: piece)
        }
        try tar.endMember()
        sums.add(name: disk.file, digest: hasher.finalize().hex)
    }

    /// Writes SHA256SUMS and the end-of-archive marker.
    public func finish() throws {
        try tar.addMember(name: ExportManifest.checksumsFileName, contents: Array(sums.text.utf8),
                          modificationTime: modificationTime)
        try tar.finish()
    }
}

extension SHA256.Digest {
    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

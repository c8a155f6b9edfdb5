import Foundation
import Testing
@testable import VMCtlCore

extension ExportManifest {
    static func sample(diskSize: UInt64 = 4096, virtualSize: UInt64 = 2 << 30) -> ExportManifest {
        ExportManifest(
            exported: "2026-11-23T05:00:00Z",
            vm: .init(name: "web-1", image: "tiny", flavor: "nano", cpus: 2, memory: .mebibytes(512),
                      disk: .gibibytes(2), network: "vmctl", accelerator: "tcg"),
            disks: [.init(role: "root", file: Disk.rootFileName, format: "qcow2", virtualSize: virtualSize, size: diskSize)])
    }
}

/// The start of a qcow2 file as far as import looks at it: magic, version 3, no backing file, the virtual size.
func fakeQcow2(size: Int, virtualSize: UInt64, backingOffset: UInt64 = 0, incompatibleFeatures: UInt64 = 0) -> [UInt8] {
    var bytes = patternBytes(size, seed: 3)
    func put(_ value: UInt64, at offset: Int, width: Int) {
        for index in 0..<width { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(width - 1 - index))) }
    }
    bytes.replaceSubrange(0..<4, with: [0x51, 0x46, 0x49, 0xfb])
    put(3, at: 4, width: 4)
    put(backingOffset, at: 8, width: 8)
    put(virtualSize, at: 24, width: 8)
    put(incompatibleFeatures, at: 72, width: 8)
    return bytes
}

/// An export archive in memory, made by the same writer `vmctl export` uses.
func exportArchive(manifest: ExportManifest, disk: [UInt8]) throws -> [UInt8] {
    var archive: [UInt8] = []
    let writer = ExportArchiveWriter(tar: TarWriter { archive.append(contentsOf: $0) }, modificationTime: 0)
    try writer.writeManifest(manifest)
    try writer.writeDisk(manifest.disks[0]) { write in
        // In uneven pieces, as a download delivers them.
        var offset = 0
        while offset < disk.count {
            let end = min(disk.count, offset + 1000)
            try disk[offset..<end].withUnsafeBytes { try write($0) }
            offset = end
        }
    }
    try writer.finish()
    return archive
}

/// Reads an archive as `vmctl import` does, collecting the disk in memory instead of a volume.
func importArchive(_ archive: [UInt8]) throws -> (ExportManifest, [UInt8]) {
    let reader = ExportArchiveReader(tar: memoryReader(archive, step: 4096))
    let manifest = try reader.readManifest()
    var disk: [UInt8] = []
    try reader.readDisk(chunkSize: 700) { disk.append(contentsOf: $0) }
    try reader.verify()
    return (manifest, disk)
}

@Suite struct ExportManifestTests {
    @Test func codableRoundTripCarriesFormatAndVersion() throws {
        let manifest = ExportManifest.sample()
        let bytes = try manifest.encoded()
        let json = String(decoding: bytes, as: UTF8.self)
        #expect(json.contains("\"format\" : \"vmctl-export\""))
        #expect(json.contains("\"version\" : 1"))
        #expect(json.contains("\"memory\" : \"512M\""))
        #expect(try ExportManifest.decode(bytes) == manifest)
    }

    @Test func newerVersionsAreRefusedNotGuessedAt() throws {
        var manifest = ExportManifest.sample()
        manifest.version = 2
        let error = #expect(throws: VMCtlError.self) { try ExportManifest.decode(manifest.encoded()) }
        #expect(error?.description == "unsupported export version 2 (made by a newer vmctl); this vmctl reads version 1")
    }

    @Test func otherJSONIsNotAnExport() throws {
        var manifest = ExportManifest.sample()
        manifest.format = "something-else"
        #expect(throws: VMCtlError.self) { try ExportManifest.decode(manifest.encoded()) }
        let error = #expect(throws: VMCtlError.self) { try ExportManifest.decode(Array("{\"format\": \"vmctl-export\"}".utf8)) }
        #expect(error?.description.hasPrefix("invalid vmctl.json: not the JSON vmctl writes (missing") == true, "\(String(describing: error))")
        #expect(throws: VMCtlError.self) { try ExportManifest.decode(Array("not json".utf8)) }
    }

    @Test(arguments: [
        ("name", "\"web;rm -rf /\"", "invalid VM name"),
        ("image", "\"../etc\"", "invalid image name"),
        ("network", "\"a b\"", "invalid network name"),
        ("memory", "\"abc\"", "invalid size 'abc'"),
        ("memory", "\"1M\"", "memory 1M: use 64M to 16T"),
        ("cpus", "0", "cpus 0: use 1 to 64"),
        ("disk", "\"1M\"", "disk 1M: use 16M to 1024T"),
    ])
    func hostileFieldsAreRefusedWithOneLine(field: String, value: String, message: String) throws {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(ExportManifest.sample().encoded())) as? [String: Any])
        var vm = try #require(object["vm"] as? [String: Any])
        vm[field] = try JSONSerialization.jsonObject(with: Data(value.utf8), options: .fragmentsAllowed)
        object["vm"] = vm
        let bytes = Array(try JSONSerialization.data(withJSONObject: object))
        let error = #expect(throws: VMCtlError.self) { try ExportManifest.decode(bytes) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
        #expect(error?.description.contains("\n") == false)
    }

    @Test func diskLargerThanTheVMsDiskIsRefused() {
        let manifest = ExportManifest.sample(virtualSize: 3 << 30)
        let error = #expect(throws: VMCtlError.self) { try manifest.validate() }
        #expect(error?.description.contains("do not fit disk 2G") == true)
    }

    @Test func sha256SumsReadWhatSha256sumWrites() throws {
        let digest = String(repeating: "ab", count: 32)
        let sums = try SHA256Sums(parsing: "\(digest)  vmctl.json\n\(digest.uppercased()) *disk-root.qcow2\n")
        #expect(sums.digest(of: "vmctl.json") == digest)
        #expect(sums.digest(of: "disk-root.qcow2") == digest)
        #expect(try SHA256Sums(parsing: sums.text) == sums)
        #expect(throws: VMCtlError.self) { try SHA256Sums(parsing: "xyz  vmctl.json\n") }
    }
}

@Suite struct ExportArchiveTests {
    let manifest = ExportManifest.sample(diskSize: 5000)
    var disk: [UInt8] { fakeQcow2(size: 5000, virtualSize: 2 << 30) }

    @Test func archiveRoundTripsInItsOrder() throws {
        let archive = try exportArchive(manifest: manifest, disk: disk)
        let names = try readArchive(memoryReader(archive)).map(\.0.name)
        #expect(names == ["vmctl.json", "disk-root.qcow2", "SHA256SUMS"])
        let (read, readDisk) = try importArchive(archive)
        #expect(read == manifest)
        #expect(readDisk == disk)
    }

    /// SHA256SUMS has the hashes `sha256sum` computes, so an extracted archive checks without vmctl.
    @Test func sumsAreTheMembersSha256() throws {
        let members = try readArchive(memoryReader(try exportArchive(manifest: manifest, disk: disk)))
        let sums = try SHA256Sums(parsing: String(decoding: members[2].1, as: UTF8.self))
        #expect(sums.entries.map(\.name) == ["vmctl.json", "disk-root.qcow2"])
        // sha256 of the empty string, through the same code path, pins the hex encoding.
        #expect(SHA256Hex.of([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(sums.digest(of: "disk-root.qcow2") == SHA256Hex.of(disk))
    }

    @Test func flippedDiskByteFailsTheChecksum() throws {
        var archive = try exportArchive(manifest: manifest, disk: disk)
        // Past the manifest (header + one data block) and the disk's header, inside the disk data.
        let diskStart = 512 + 512 * ((try manifest.encoded().count + 511) / 512) + 512
        archive[diskStart + 3000] ^= 0x01
        let error = #expect(throws: VMCtlError.self) { try importArchive(archive) }
        #expect(error?.description.hasPrefix("checksum mismatch for 'disk-root.qcow2'") == true, "\(String(describing: error))")
    }

    @Test func editedManifestFailsTheChecksum() throws {
        var archive = try exportArchive(manifest: manifest, disk: disk)
        // "cpus" : 2 → 3: still a valid manifest, but not the one that was exported.
        let text = String(decoding: archive[512..<1024], as: UTF8.self)
        let range = try #require(text.range(of: "\"cpus\" : 2"))
        let offset = 512 + text.utf8.distance(from: text.startIndex, to: range.upperBound) - 1
        archive[offset] = UInt8(ascii: "3")
        let error = #expect(throws: VMCtlError.self) { try importArchive(archive) }
        #expect(error?.description.hasPrefix("checksum mismatch for 'vmctl.json'") == true, "\(String(describing: error))")
    }

    @Test func archiveWithoutSumsIsTruncated() throws {
        let archive = try exportArchive(manifest: manifest, disk: disk)
        let members = try readArchive(memoryReader(archive))
        let withoutSums = try writeArchive([(members[0].0.name, members[0].1), (members[1].0.name, members[1].1)])
        let error = #expect(throws: VMCtlError.self) { try importArchive(withoutSums) }
        #expect(error?.description == "truncated archive: 'SHA256SUMS' is missing (the archive ends early)")
    }

    @Test func archiveCutInsideTheDiskIsTruncated() throws {
        let archive = try exportArchive(manifest: manifest, disk: disk)
        let error = #expect(throws: VMCtlError.self) { try importArchive(Array(archive.prefix(3000))) }
        #expect(error?.description == "truncated archive: it ends inside 'disk-root.qcow2'")
    }

    /// A qcow2 naming a backing file or data file would have the host's QEMU open a host path.
    @Test(arguments: [(UInt64(512), UInt64(0)), (0, 1 << 2)])
    func disksPointingAtHostFilesAreRefusedBeforeAnyByteIsPassedOn(backing: UInt64, features: UInt64) throws {
        let bad = fakeQcow2(size: 5000, virtualSize: 2 << 30, backingOffset: backing, incompatibleFeatures: features)
        let reader = ExportArchiveReader(tar: memoryReader(try exportArchive(manifest: manifest, disk: bad)))
        _ = try reader.readManifest()
        var consumed = 0
        #expect(throws: VMCtlError.self) { try reader.readDisk { consumed += $0.count } }
        #expect(consumed == 0)
    }

    @Test func rawDiskIsRefused() throws {
        let error = #expect(throws: VMCtlError.self) { try importArchive(try exportArchive(manifest: manifest, disk: patternBytes(5000))) }
        #expect(error?.description.contains("is not a qcow2 image") == true)
    }

    @Test func diskSizeMustMatchTheManifest() throws {
        var archive = try exportArchive(manifest: manifest, disk: disk)
        // Rewrite the disk member's header to claim one block less; its checksum is recomputed so only the size lies.
        let headerOffset = 512 + 512 * ((try manifest.encoded().count + 511) / 512)
        let header = try TarHeader(name: "disk-root.qcow2", size: 4096).encoded()
        archive.replaceSubrange(headerOffset..<headerOffset + 512, with: header)
        let error = #expect(throws: VMCtlError.self) { try importArchive(archive) }
        #expect(error?.description.contains("holds 4096 bytes, vmctl.json says 5000") == true)
    }
}

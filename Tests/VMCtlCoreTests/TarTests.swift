import Foundation
import Testing
@testable import VMCtlCore

/// Deterministic bytes, so a failure shows the same data every run.
func patternBytes(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &+ $0 >> 9) }
}

func writeArchive(_ members: [(String, [UInt8])]) throws -> [UInt8] {
    var archive: [UInt8] = []
    let writer = TarWriter { archive.append(contentsOf: $0) }
    for (name, contents) in members { try writer.addMember(name: name, contents: contents, modificationTime: 1_795_000_000) }
    try writer.finish()
    #expect(writer.bytesWritten == UInt64(archive.count))
    return archive
}

/// A reader over bytes in memory that hands out at most `step` bytes per call, like a pipe.
func memoryReader(_ bytes: [UInt8], step: Int = .max) -> TarReader {
    var offset = 0
    return TarReader { buffer in
        let count = min(buffer.count, bytes.count - offset, step)
        for index in 0..<count { buffer[index] = bytes[offset + index] }
        offset += count
        return count
    }
}

func readArchive(_ reader: TarReader) throws -> [(TarHeader, [UInt8])] {
    var members: [(TarHeader, [UInt8])] = []
    while let header = try reader.next() {
        members.append((header, try reader.readAll(limit: 1 << 24)))
    }
    return members
}

@Suite struct TarTests {
    /// Sizes around the block boundary: empty, one byte, one short, exactly one block, one over.
    static let members: [(String, [UInt8])] = [
        ("vmctl.json", Array("{\"a\": 1}\n".utf8)),
        ("empty", []),
        ("one", [0x41]),
        ("block-less-one", patternBytes(511)),
        ("exactly-one-block", patternBytes(512)),
        ("block-plus-one", patternBytes(513)),
        ("large", patternBytes(3 << 20 | 5)),
        (String(repeating: "d", count: 60) + "/" + String(repeating: "n", count: 90), patternBytes(100)),
    ]

    @Test func roundTripKeepsNamesSizesAndBytes() throws {
        let archive = try writeArchive(Self.members)
        let read = try readArchive(memoryReader(archive))
        #expect(read.map(\.0.name) == Self.members.map(\.0))
        #expect(read.map(\.0.size) == Self.members.map { UInt64($0.1.count) })
        #expect(read.map(\.1) == Self.members.map(\.1))
        #expect(read.allSatisfy { $0.0.kind == .regularFile && $0.0.modificationTime == 1_795_000_000 && $0.0.mode == 0o644 })
    }

    @Test func readsThroughShortReads() throws {
        let archive = try writeArchive(Self.members)
        let read = try readArchive(memoryReader(archive, step: 7))
        #expect(read.map(\.1) == Self.members.map(\.1))
    }

    /// Each member is a header block plus its data padded to whole blocks; two zero blocks end the archive.
    @Test func layoutIsBlockAligned() throws {
        let members: [(String, [UInt8])] = [("a", patternBytes(512)), ("b", []), ("c", patternBytes(1))]
        let archive = try writeArchive(members)
        #expect(archive.count == (512 + 512) + 512 + (512 + 512) + 1024)
        // The 512-byte member needs no padding: "b"'s header follows right after its data.
        #expect(Array(archive[1024..<1025]) == Array("b".utf8))
        // "c"'s one byte is followed by 511 zero bytes of padding.
        #expect(archive[2048] == patternBytes(1)[0])
        #expect(Array(archive[2049..<2560]).allSatisfy { $0 == 0 })
        #expect(archive.suffix(1024).allSatisfy { $0 == 0 })
        // ustar magic, and the size field in octal.
        #expect(Array(archive[257..<263]) == Array("ustar\0".utf8))
        #expect(String(decoding: archive[124..<135], as: UTF8.self) == "00000001000")
    }

    @Test func emptyMemberIsHeaderOnly() throws {
        let archive = try writeArchive([("empty", [])])
        #expect(archive.count == 512 + 1024)
        let read = try readArchive(memoryReader(archive))
        #expect(read.count == 1 && read[0].0.size == 0 && read[0].1.isEmpty)
    }

    @Test func systemTarReadsOurArchivesAndWeReadItsOwn() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/tar") || FileManager.default.isExecutableFile(atPath: "/bin/tar"),
                     "no tar to compare with")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vmctl-tar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let ours = directory.appendingPathComponent("ours.tar")
        try Data(try writeArchive(Self.members)).write(to: ours)
        let extract = directory.appendingPathComponent("x")
        try FileManager.default.createDirectory(at: extract, withIntermediateDirectories: true)
        #expect(try runTar(["-xf", ours.path, "-C", extract.path]) == 0)
        for (name, contents) in Self.members {
            #expect(FileManager.default.contents(atPath: extract.appendingPathComponent(name).path) == Data(contents), "\(name)")
        }

        let theirs = directory.appendingPathComponent("theirs.tar")
        #expect(try runTar(["--format=ustar", "-cf", theirs.path, "-C", extract.path, "vmctl.json", "exactly-one-block", "empty"]) == 0)
        let read = try readArchive(memoryReader(Array(try Data(contentsOf: theirs))))
        #expect(read.map(\.0.name) == ["vmctl.json", "exactly-one-block", "empty"])
        #expect(read[1].1 == patternBytes(512))
    }

    private func runTar(_ arguments: [String]) throws -> Int32 {
        try ChildProcess(["tar"] + arguments, stdout: .inherit, stderr: .inherit).wait()
    }

    /// Past 8 GiB - 1 the octal field is full; the base-256 form (GNU tar, bsdtar) carries the size.
    @Test(arguments: [UInt64(0), 512, TarHeader.largestOctalSize, TarHeader.largestOctalSize + 1, 40 << 30])
    func headerSizesRoundTrip(size: UInt64) throws {
        let block = try TarHeader(name: "disk-root.qcow2", size: size).encoded()
        #expect(block.count == 512)
        #expect(try TarHeader.decode(block)?.size == size)
        #expect((block[124] & 0x80 != 0) == (size > TarHeader.largestOctalSize))
    }

    @Test func damagedHeaderIsRefused() throws {
        var archive = try writeArchive([("a", patternBytes(10))])
        archive[5] ^= 0x20
        let error = #expect(throws: VMCtlError.self) { try readArchive(memoryReader(archive)) }
        #expect(error?.description.contains("checksum") == true)
    }

    @Test func notATarIsRefused() {
        let error = #expect(throws: VMCtlError.self) { try readArchive(memoryReader(patternBytes(2048))) }
        #expect(error?.description.contains("not a ustar tar archive") == true)
    }

    @Test(arguments: [100, 512 + 300, 512 + 1000, 512 + 2048 + 10])
    func truncationIsAnError(keep: Int) throws {
        let archive = try writeArchive([("a", patternBytes(2048)), ("b", patternBytes(10))])
        let error = #expect(throws: VMCtlError.self) { try readArchive(memoryReader(Array(archive.prefix(keep)))) }
        #expect(error?.description.hasPrefix("truncated archive") == true, "\(String(describing: error))")
    }

    @Test func writerHoldsMembersToTheirDeclaredSize() throws {
        let writer = TarWriter { _ in }
        try writer.beginMember(TarHeader(name: "a", size: 4))
        try [UInt8]([1, 2, 3]).withUnsafeBytes { try writer.write($0) }
        #expect(throws: VMCtlError.self) { try [UInt8]([4, 5]).withUnsafeBytes { try writer.write($0) } }
        #expect(throws: VMCtlError.self) { try writer.endMember() }
    }

    @Test func longNamesSplitIntoPrefixOrAreRefused() throws {
        let name = String(repeating: "p", count: 120) + "/" + String(repeating: "n", count: 99)
        #expect(try TarHeader.decode(TarHeader(name: name, size: 0).encoded())?.name == name)
        #expect(throws: VMCtlError.self) { try TarHeader(name: String(repeating: "x", count: 101), size: 0).encoded() }
        #expect(throws: VMCtlError.self) { try TarHeader(name: "", size: 0).encoded() }
    }
}

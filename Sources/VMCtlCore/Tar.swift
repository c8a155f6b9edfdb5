/// A small POSIX ustar (tar) writer and reader for vmctl's export archives.
///
/// Written here rather than run through `tar(1)` so that an export streams from libvirt straight into
/// the archive (and an import from the archive straight into libvirt) without a temporary copy of the
/// disk, and so that it works wherever vmctl does. Only what vmctl needs: regular files, read and
/// written in order. Archives open with GNU tar, bsdtar and the like, so users can inspect them.
public struct TarHeader: Sendable, Equatable {
    public static let blockSize = 512
    /// The largest size the 11 octal digits of the ustar size field hold (8 GiB - 1). Larger members
    /// use the base-256 size encoding of GNU tar and star, which every current tar reads.
    static let largestOctalSize: UInt64 = 0o77777777777

    public enum Kind: Sendable, Equatable {
        case regularFile
        /// Anything else (directories, links, pax headers): vmctl's archives hold none, readers refuse them.
        case other(UInt8)
    }

    public var name: String
    public var size: UInt64
    public var mode: UInt32
    /// Seconds since 1970.
    public var modificationTime: UInt64
    public var kind: Kind

    public init(name: String, size: UInt64, mode: UInt32 = 0o644, modificationTime: UInt64 = 0, kind: Kind = .regularFile) {
        self.name = name
        self.size = size
        self.mode = mode
        self.modificationTime = modificationTime
        self.kind = kind
    }

    // Field offsets and widths of the ustar header block.
    private enum Field {
        static let name = (0, 100), mode = (100, 8), uid = (108, 8), gid = (116, 8), size = (124, 12)
        static let mtime = (136, 12), checksum = (148, 8), typeflag = (156, 1), magic = (257, 6)
        static let version = (263, 2), uname = (265, 32), gname = (297, 32), prefix = (345, 155)
    }

    /// The 512-byte header block.
    public func encoded() throws -> [UInt8] {
        var block = [UInt8](repeating: 0, count: Self.blockSize)
        let (prefix, base) = try Self.split(name)
        put(Array(base.utf8), at: Field.name, in: &block)
        put(Array(prefix.utf8), at: Field.prefix, in: &block)
        put(Self.octal(UInt64(mode), width: Field.mode.1), at: Field.mode, in: &block)
        put(Self.octal(0, width: Field.uid.1), at: Field.uid, in: &block)
        put(Self.octal(0, width: Field.gid.1), at: Field.gid, in: &block)
        if size <= Self.largestOctalSize {
            put(Self.octal(size, width: Field.size.1), at: Field.size, in: &block)
        } else {
            // Base-256: the first byte's high bit marks it, the rest is the size, big-endian.
            var field = [UInt8](repeating: 0, count: Field.size.1)
            field[0] = 0x80
            for index in 0..<8 { field[Field.size.1 - 1 - index] = UInt8(truncatingIfNeeded: size >> (8 * UInt64(index))) }
            put(field, at: Field.size, in: &block)
        }
        put(Self.octal(modificationTime, width: Field.mtime.1), at: Field.mtime, in: &block)
        switch kind {
        case .regularFile: block[Field.typeflag.0] = UInt8(ascii: "0")
        case .other(let flag): block[Field.typeflag.0] = flag
        }
        put(Array("ustar\0".utf8), at: Field.magic, in: &block)
        put(Array("00".utf8), at: Field.version, in: &block)
        put(Array("root".utf8), at: Field.uname, in: &block)
        put(Array("root".utf8), at: Field.gname, in: &block)
        // The checksum is summed with its own field read as spaces, then written as 6 digits, NUL, space.
        put([UInt8](repeating: 0x20, count: 8), at: Field.checksum, in: &block)
        let sum = block.reduce(0) { $0 + UInt64($1) }
        put(Self.octal(sum, width: 7) + [0x20], at: Field.checksum, in: &block)
        return block
    }

    /// Reads a header block; nil for an all-zero block, which marks the end of the archive.
    public static func decode(_ block: [UInt8]) throws -> TarHeader? {
        guard block.count == blockSize else { throw VMCtlError("not a tar archive: short header block") }
        if block.allSatisfy({ $0 == 0 }) { return nil }
        let magic = Array(block[Field.magic.0..<Field.magic.0 + 6])
        // POSIX writes "ustar\0" "00"; GNU tar's own format writes "ustar " " \0". Both lay out the same fields.
        guard magic == Array("ustar\0".utf8) || magic == Array("ustar ".utf8) else {
            throw VMCtlError("not a ustar tar archive (no 'ustar' magic in the header)")
        }
        let stored = try number(block, Field.checksum, field: "checksum")
        var unsigned: Int64 = 0, signed: Int64 = 0
        for (index, byte) in block.enumerated() {
            let value = (Field.checksum.0..<Field.checksum.0 + 8).contains(index) ? 0x20 : byte
            unsigned += Int64(value)
            signed += Int64(Int8(bitPattern: value))
        }
        // Some old writers summed signed bytes; accept either, as GNU tar does.
        guard Int64(stored) == unsigned || Int64(stored) == signed else {
            throw VMCtlError("damaged tar archive: header checksum mismatch")
        }
        let base = string(block, Field.name), prefix = string(block, Field.prefix)
        let flag = block[Field.typeflag.0]
        return TarHeader(
            name: prefix.isEmpty ? base : prefix + "/" + base,
            size: try number(block, Field.size, field: "size"),
            mode: UInt32(truncatingIfNeeded: try number(block, Field.mode, field: "mode")),
            modificationTime: try number(block, Field.mtime, field: "mtime"),
            kind: flag == UInt8(ascii: "0") || flag == 0 ? .regularFile : .other(flag))
    }

    /// Splits a long name at a '/' into the prefix (155 bytes) and name (100 bytes) fields.
    static func split(_ name: String) throws -> (prefix: String, name: String) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, !bytes.contains(0) else { throw VMCtlError("invalid tar member name '\(ResourceName.printable(name))'") }
        if bytes.count <= Field.name.1 { return ("", name) }
        for index in bytes.indices.reversed() where bytes[index] == UInt8(ascii: "/") {
            let prefix = bytes[..<index], rest = bytes[(index + 1)...]
            if prefix.count <= Field.prefix.1, rest.count <= Field.name.1, !rest.isEmpty {
                return (String(decoding: prefix, as: UTF8.self), String(decoding: rest, as: UTF8.self))
            }
        }
        throw VMCtlError("tar member name too long for ustar: '\(ResourceName.printable(name))'")
    }

    /// Zero-padded octal digits filling all but the last byte of a field, which stays NUL.
    static func octal(_ value: UInt64, width: Int) -> [UInt8] {
        let digits = Array(String(value, radix: 8).utf8)
        return [UInt8](repeating: UInt8(ascii: "0"), count: max(0, width - 1 - digits.count)) + digits + [0]
    }

    private static func number(_ block: [UInt8], _ field: (Int, Int), field name: String) throws -> UInt64 {
        let bytes = block[field.0..<field.0 + field.1]
        if let first = bytes.first, first & 0x80 != 0 {
            // Base-256; a negative value (0xff lead) makes no sense for sizes and times.
            guard first == 0x80 else { throw VMCtlError("damaged tar archive: bad \(name) field") }
            var value: UInt64 = 0
            for byte in bytes.dropFirst() {
                guard value >> 56 == 0 else { throw VMCtlError("damaged tar archive: \(name) field overflows") }
                value = value << 8 | UInt64(byte)
            }
            return value
        }
        var value: UInt64 = 0
        var seenDigit = false
        for byte in bytes {
            if byte == 0 || (byte == 0x20 && seenDigit) { break }
            if byte == 0x20 { continue }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "7"), value >> 60 == 0 else {
                throw VMCtlError("damaged tar archive: bad \(name) field")
            }
            value = value << 3 | UInt64(byte - UInt8(ascii: "0"))
            seenDigit = true
        }
        return value
    }

    private static func string(_ block: [UInt8], _ field: (Int, Int)) -> String {
        let bytes = block[field.0..<field.0 + field.1]
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    private func put(_ bytes: [UInt8], at field: (Int, Int), in block: inout [UInt8]) {
        precondition(bytes.count <= field.1, "tar field overflow")
        block.replaceSubrange(field.0..<field.0 + bytes.count, with: bytes)
    }

    /// Zero bytes that follow `size` bytes of data up to the next block boundary.
    static func padding(after size: UInt64) -> Int {
        let remainder = Int(size % UInt64(blockSize))
        return remainder == 0 ? 0 : blockSize - remainder
    }
}

/// Writes an archive member by member to `output`; a member's data may arrive in any number of pieces.
public final class TarWriter {
    private let output: (UnsafeRawBufferPointer) throws -> Void
    private var current: (name: String, size: UInt64, written: UInt64)?
    private var finished = false
    /// Archive bytes written so far, headers and padding included.
    public private(set) var bytesWritten: UInt64 = 0

    public init(output: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.output = output
    }

    public func beginMember(_ header: TarHeader) throws {
        precondition(current == nil && !finished, "tar member begun before the previous one ended")
        try emit(header.encoded())
        current = (header.name, header.size, 0)
    }

    /// Member data; more than the header announced is an error (the header is already written).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let member = current else { preconditionFailure("tar data outside a member") }
        guard UInt64(bytes.count) <= member.size - member.written else {
            throw VMCtlError("'\(member.name)' grew while it was archived: more than its \(member.size) bytes")
        }
        try output(bytes)
        bytesWritten += UInt64(bytes.count)
        current?.written += UInt64(bytes.count)
    }

    /// Ends the member; it must have received exactly the size its header announced.
    public func endMember() throws {
        guard let member = current else { preconditionFailure("no tar member to end") }
        guard member.written == member.size else {
            throw VMCtlError("'\(member.name)' shrank while it was archived: \(member.written) of \(member.size) bytes")
        }
        try emit([UInt8](repeating: 0, count: TarHeader.padding(after: member.size)))
        current = nil
    }

    public func addMember(name: String, contents: [UInt8], modificationTime: UInt64 = 0) throws {
        try beginMember(TarHeader(name: name, size: UInt64(contents.count), modificationTime: modificationTime))
        try contents.withUnsafeBytes { try write($0) }
        try endMember()
    }

    /// Writes the end-of-archive marker: two zero blocks.
    public func finish() throws {
        precondition(current == nil, "tar archive finished inside a member")
        try emit([UInt8](repeating: 0, count: 2 * TarHeader.blockSize))
        finished = true
    }

    private func emit(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { return }
        try bytes.withUnsafeBytes { try output($0) }
        bytesWritten += UInt64(bytes.count)
    }
}

/// Reads an archive sequentially from `input` (which returns 0 at its end), never seeking, so it also
/// reads from pipes.
public final class TarReader {
    private let input: (UnsafeMutableRawBufferPointer) throws -> Int
    private var current: (header: TarHeader, remaining: UInt64)?
    private var ended = false
    /// Archive bytes consumed so far.
    public private(set) var bytesRead: UInt64 = 0

    public init(input: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) {
        self.input = input
    }

    /// The next member's header, after skipping what is left of the current one; nil at the end.
    public func next() throws -> TarHeader? {
        if ended { return nil }
        try skipRest()
        var block = [UInt8](repeating: 0, count: TarHeader.blockSize)
        let count = try block.withUnsafeMutableBytes { try fill($0) }
        // An archive that simply stops after a member's padding has no end marker; tar accepts that too.
        if count == 0 { ended = true; return nil }
        guard count == TarHeader.blockSize else { throw VMCtlError("truncated archive: it ends inside a header") }
        guard let header = try TarHeader.decode(block) else { ended = true; return nil }
        current = (header, header.size)
        return header
    }

    /// Reads the current member's data, filling `buffer` unless the member ends first; 0 at its end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let member = current, member.remaining > 0 else { return 0 }
        let wanted = Int(min(UInt64(buffer.count), member.remaining))
        let count = try fill(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted]))
        guard count == wanted else {
            throw VMCtlError("truncated archive: it ends inside '\(member.header.name)'")
        }
        current?.remaining -= UInt64(count)
        if current?.remaining == 0 { try skipPadding(of: member.header) }
        return count
    }

    /// The whole member, refused when it is larger than `limit` (a small text member is expected).
    public func readAll(limit: Int) throws -> [UInt8] {
        guard let member = current else { return [] }
        guard member.remaining <= UInt64(limit) else {
            throw VMCtlError("'\(member.header.name)' in the archive is too large (\(member.remaining) bytes, at most \(limit) expected)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(member.remaining))
        let count = try bytes.withUnsafeMutableBytes { try read(into: $0) }
        return Array(bytes[0..<count])
    }

    private func skipRest() throws {
        guard let member = current else { return }
        if member.remaining > 0 {
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
            defer { scratch.deallocate() }
            while try read(into: scratch) > 0 {}
        }
        current = nil
    }

    private func skipPadding(of header: TarHeader) throws {
        let padding = TarHeader.padding(after: header.size)
        guard padding > 0 else { return }
        var zeros = [UInt8](repeating: 0, count: padding)
        let count = try zeros.withUnsafeMutableBytes { try fill($0) }
        guard count == padding else { throw VMCtlError("truncated archive: it ends inside '\(header.name)'") }
    }

    /// Reads until `buffer` is full or the input ends; returns how much it got.
    private func fill(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let count = try input(UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if count == 0 { break }
            filled += count
        }
        bytesRead += UInt64(filled)
        return filled
    }
}

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
        guard block.count == blockSize else { throw VMCtlError.invalid("not a tar archive: short header block") }
        if block.allSatisfy({ $0 == 0 }) { return nil }
        let magic = Array(block[Field.magic.0..<Field.magic.0 + 6])
        // POSIX writes "ustar\0" "00"; GNU tar's own format writes "ustar " " \0". Both lay out the same fields.
        guard magic == Array("ustar\0".utf8) || magic == Array("ustar ".utf8) else {
            throw VMCtlError.invalid("not a ustar tar archive (no 'ustar' magic in the header)")
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
            throw VMCtlError.invalid("damaged tar archive: header checksum mismatch")
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
        guard !bytes.isEmpty, !bytes.contains(0) else { throw VMCtlError.invalid("invalid tar member name '\(ResourceName.printable(name))'") }
        if bytes.count <= Field.name.1 { return ("", name) }
        for index in bytes.indices.reversed() where bytes[index] == UInt8(ascii: "/") {
            let prefix = bytes[..<index], rest = bytes[(index + 1)...]
            if prefix.count <= Field.prefix.1, rest.count <= Field.name.1, !rest.isEmpty {
                return (String(decoding: prefix, as: UTF8.self), String(decoding: rest, as: UTF8.self))
            }
        }
        throw VMCtlError.invalid("tar member name too long for ustar: '\(ResourceName.printable(name))'")
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
            guard first == 0x80 else { throw VMCtlError.invalid("damaged tar archive: bad \(name) field") }
            var value: UInt64 = 0
            for byte in bytes.dropFirst() {
                guard value >> 56 == 0 else { throw VMCtlError.invalid("damaged tar archive: \(name) field overflows") }
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
                throw VMCtlError.invalid("damaged tar archive: bad \(name) field")
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

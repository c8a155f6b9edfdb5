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
        guard count == TarHeader.blockSize else { throw VMCtlError.invalid("truncated archive: it ends inside a header") }
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
            throw VMCtlError.invalid("truncated archive: it ends inside '\(member.header.name)'")
        }
        current?.remaining -= UInt64(count)
        if current?.remaining == 0 { try skipPadding(of: member.header) }
        return count
    }

    /// The whole member, refused when it is larger than `limit` (a small text member is expected).
    public func readAll(limit: Int) throws -> [UInt8] {
        guard let member = current else { return [] }
        guard member.remaining <= UInt64(limit) else {
            throw VMCtlError.invalid("'\(member.header.name)' in the archive is too large (\(member.remaining) bytes, at most \(limit) expected)")
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
        guard count == padding else { throw VMCtlError.invalid("truncated archive: it ends inside '\(header.name)'") }
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

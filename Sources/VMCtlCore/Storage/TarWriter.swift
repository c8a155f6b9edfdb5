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
            throw VMCtlError.failed("'\(member.name)' grew while it was archived: more than its \(member.size) bytes")
        }
        try output(bytes)
        bytesWritten += UInt64(bytes.count)
        current?.written += UInt64(bytes.count)
    }

    /// Ends the member; it must have received exactly the size its header announced.
    public func endMember() throws {
        guard let member = current else { preconditionFailure("no tar member to end") }
        guard member.written == member.size else {
            throw VMCtlError.failed("'\(member.name)' shrank while it was archived: \(member.written) of \(member.size) bytes")
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

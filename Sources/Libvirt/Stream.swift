internal import CLibvirt

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A data channel between client and daemon (volume upload/download, consoles).
public final class Stream: @unchecked Sendable {
    let raw: virStreamPtr
    public let connection: Connection
    private var isOpen = true

    init(raw: virStreamPtr, connection: Connection) {
        self.raw = raw
        self.connection = connection
    }

    deinit {
        // A stream dropped while still open was abandoned half way: tell the daemon so it stops waiting.
        if isOpen { virStreamAbort(raw) }
        virStreamFree(raw)
    }

    /// Sends all of `bytes`, blocking until the daemon took them.
    public func send(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = virStreamSend(
                raw, bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self),
                bytes.count - offset)
            guard sent >= 0 else { throw LibvirtError.last() }
            offset += Int(sent)
        }
    }

    /// Receives up to `buffer.count` bytes; returns 0 at the end of the stream.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let received = virStreamRecv(raw, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count)
        guard received >= 0 else { throw LibvirtError.last() }
        return Int(received)
    }

    /// Sends the contents of an open file descriptor until its end, reporting bytes sent after each chunk.
    public func send(fileDescriptor fd: Int32, chunkSize: Int = 1 << 20, progress: (UInt64) -> Void = { _ in }) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var total: UInt64 = 0
        while true {
            let count = read(fd, buffer.baseAddress, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw LibvirtError(code: -1, domain: 0, message: "read failed: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            try send(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            total += UInt64(count)
            progress(total)
        }
    }

    /// Receives the whole stream into an open file descriptor.
    public func receive(toFileDescriptor fd: Int32, chunkSize: Int = 1 << 20, progress: (UInt64) -> Void = { _ in }) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var total: UInt64 = 0
        while true {
            let count = try receive(into: buffer)
            if count == 0 { break }
            var written = 0
            while written < count {
                let w = write(fd, buffer.baseAddress!.advanced(by: written), count - written)
                if w < 0 {
                    if errno == EINTR { continue }
                    throw LibvirtError(code: -1, domain: 0, message: "write failed: \(String(cString: strerror(errno)))")
                }
                written += w
            }
            total += UInt64(count)
            progress(total)
        }
    }

    /// Completes the transfer; the daemon reports any error that happened on its side.
    public func finish() throws {
        isOpen = false
        try check(virStreamFinish(raw))
    }

    public func abort() {
        guard isOpen else { return }
        isOpen = false
        virStreamAbort(raw)
    }
}

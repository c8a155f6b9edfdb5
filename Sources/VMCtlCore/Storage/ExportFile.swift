import Foundation
import Libvirt
import LibvirtXML

/// The archive file: written under a temporary name and renamed when complete, so a failed or interrupted
/// export never leaves a file that looks finished; read with plain `read(2)` so pipes work too.
final class ExportFile {
    private let fd: Int32
    private let path: String
    private let partialPath: String?
    private var committed = false

    init(creatingNextTo path: String) throws {
        self.path = path
        let partial = path + ".part"
        self.partialPath = partial
        // O_EXCL: a file of that name that is not ours (or a concurrent export's) is never overwritten.
        // Owner-only from its creation: it holds a whole disk, keys and secrets included.
        fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST {
                throw VMCtlError(.alreadyExists, "'\(partial)' exists (an interrupted export, or one still running); remove it first")
            }
            throw VMCtlError.system("cannot write '\(path)'")
        }
    }

    init(readingFrom path: String) throws {
        self.path = path
        self.partialPath = nil
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VMCtlError.system("cannot read '\(path)'") }
    }

    deinit { close(fd) }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw VMCtlError.system("cannot write '\(path)'")
            }
            offset += written
        }
    }

    func readSome(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw VMCtlError.system("cannot read '\(path)'") }
        }
    }

    /// Flushes the archive to disk and gives it its real name, unless something took that name meanwhile
    /// (link(2) fails then, where rename(2) would replace it).
    func commit() throws {
        guard let partialPath else { return }
        guard fsync(fd) == 0 else { throw VMCtlError.system("cannot write '\(path)'") }
        guard link(partialPath, path) == 0 else {
            throw VMCtlError.system("cannot name the archive '\(path)'")
        }
        committed = true
        unlink(partialPath)
    }

    func discardUnlessCommitted() {
        if let partialPath, !committed { unlink(partialPath) }
    }
}

import Foundation
import Libvirt
import LibvirtXML

/// An exclusive lock shared by vmctl processes on this machine (flock on a file under /run).
final class HostLock {
    private let fd: Int32

    /// Waits until the lock is free, then holds it.
    static func acquire(_ name: String) throws -> HostLock {
        guard let lock = try HostLock(name: name, wait: true) else { throw VMCtlError.failed("cannot lock \(name)") }
        return lock
    }

    /// Whether another process holds the lock now.
    static func isHeld(_ name: String) -> Bool {
        guard let lock = try? HostLock(name: name, wait: false) else { return true }
        lock.release()
        return false
    }

    static let directory = "/run/vmctl"

    /// nil when another process holds the lock and `wait` is false. `directory` is another one only in tests.
    init?(name: String, wait: Bool, directory: String = HostLock.directory) throws {
        mkdir(directory, 0o755)
        fd = open("\(directory)/\(name).lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VMCtlError.system("cannot open lock \(directory)/\(name).lock") }
        while flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            let failure = errno
            guard failure == EINTR else {
                // No lock, so no HostLock to release it: the descriptor is closed here.
                close(fd)
                if failure == EWOULDBLOCK { return nil }
                throw VMCtlError.system("cannot lock \(directory)/\(name).lock", errno: failure)
            }
        }
    }

    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

import Foundation

/// The host-wide lock one lab is applied, destroyed or snapshotted under: two runs for the same lab never interleave.
/// It is a lock on this machine: runs of the same lab from two machines against one remote host are not kept apart.
public final class LabLock: @unchecked Sendable {
    private let lock: HostLock

    private init(lock: HostLock) { self.lock = lock }

    /// Takes the lab's lock, waiting (with a notice) while another vmctl holds it.
    public static func acquire(lab: String, notice: (String) -> Void) throws -> LabLock {
        let name = "lab-\(lab)"
        if let lock = try HostLock(name: name, wait: false) { return LabLock(lock: lock) }
        notice("another vmctl is applying or destroying lab '\(lab)'; waiting for it to finish")
        return LabLock(lock: try HostLock.acquire(name))
    }

    public func release() { lock.release() }
}

import CSystem
import Foundation

/// Finds the network namespace a local libvirtd runs in and moves vmctl into it.
///
/// On hosts where libvirtd was started inside a namespace (vmctl's bootstrap does that where no service
/// manager runs), guest bridges exist only there; a probe or ssh from outside would follow this
/// namespace's routes instead, towards hosts that are not ours.
public enum HostNamespace {
    public struct Joined: Sendable, Equatable {
        /// The name under /run/netns, when the namespace has one.
        public let name: String?
        public let daemonPID: Int32
    }

    static let pidFiles = ["/run/libvirtd.pid", "/run/libvirt/virtqemud.pid", "/run/virtqemud.pid"]

    /// Joins libvirtd's namespace when it differs from ours; nil when already there or not possible.
    /// Changes only the calling thread, so vmctl does its guest-facing work on that (the main) thread.
    static func joinLibvirtd() -> Joined? {
        guard let pid = daemonPID() else { return nil }
        let target = "/proc/\(pid)/ns/net"
        guard let targetID = inode(of: target), let ownID = inode(of: "/proc/thread-self/ns/net"),
              targetID != ownID else { return nil }
        try? CallerNamespace.remember()
        let fd = open(target, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard csystem_enter_network_namespace(fd) == 0 else { return nil }
        return Joined(name: namespaceName(inode: targetID), daemonPID: pid)
    }

    static func daemonPID() -> Int32? {
        for file in pidFiles {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                  let pid = Int32(text.trimmingSpaces), pid > 0, kill(pid, 0) == 0 else { continue }
            return pid
        }
        return nil
    }

    private static func inode(of path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }

    private static func namespaceName(inode: UInt64) -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        return names.sorted().first { self.inode(of: "/run/netns/\($0)") == inode }
    }
}

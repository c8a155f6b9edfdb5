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
    /// What the process named in a pidfile must be: a stale pidfile's number may belong to anyone now.
    static let daemonNames: Set<String> = ["libvirtd", "virtqemud"]

    /// Joins libvirtd's namespace when it differs from ours; nil when already there or when no local daemon
    /// runs. Changes only the calling thread, so vmctl does its guest-facing work on that (the main) thread.
    /// A daemon found but not joined is an error: guest-facing work would leave through this namespace.
    static func joinLibvirtd() throws -> Joined? {
        guard let pid = try daemonPID() else { return nil }
        let target = "/proc/\(pid)/ns/net"
        func failure(_ what: String) -> VMCtlError {
            VMCtlError(.init(errno: errno), "cannot join the network namespace of libvirt's daemon (pid \(pid)): \(what) \(String(cString: strerror(errno))) (vmctl runs as root)")
        }
        guard let targetID = inode(of: target) else { throw failure("cannot read \(target):") }
        guard let ownID = inode(of: "/proc/thread-self/ns/net") else { throw failure("cannot read this thread's namespace:") }
        guard targetID != ownID else { return nil }
        try CallerNamespace.remember()
        let fd = open(target, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open \(target):") }
        defer { close(fd) }
        guard csystem_enter_network_namespace(fd) == 0 else { throw failure("setns:") }
        return Joined(name: namespaceName(inode: targetID), daemonPID: pid)
    }

    /// The first pidfile's process that is running and is libvirt's daemon; a stale pidfile (its process
    /// gone, or its number taken by another program) is passed over.
    static func daemonPID(pidFiles: [String] = pidFiles) throws -> Int32? {
        for file in pidFiles {
            // No pidfile, no daemon there; one that cannot be read may name the daemon vmctl must join.
            guard access(file, F_OK) == 0 || errno != ENOENT else { continue }
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw VMCtlError.failed("cannot read \(file), which may name libvirt's daemon: \(error.localizedDescription)", cause: error)
            }
            guard let pid = Int32(text.trimmingSpaces), pid > 0, try isDaemon(pid, namedIn: file) else { continue }
            return pid
        }
        return nil
    }

    /// Whether `pid` is libvirt's system daemon now: a root process whose executable is libvirtd or
    /// virtqemud. Its executable's link, unlike its command name, cannot be set by the process itself.
    static func isDaemon(_ pid: Int32, namedIn file: String) throws -> Bool {
        var info = stat()
        guard stat("/proc/\(pid)", &info) == 0, info.st_uid == 0 else { return false }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/\(pid)/exe", &buffer, buffer.count - 1)
        guard length >= 0 else {
            if errno == ENOENT { return false }
            throw VMCtlError(.init(errno: errno), "cannot tell whether process \(pid), named in \(file), is libvirt's daemon: \(String(cString: strerror(errno))) (vmctl runs as root)")
        }
        let executable = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // A daemon upgraded while it runs shows its old binary as "PATH (deleted)".
        let name = executable.split(separator: "/").last.map(String.init) ?? ""
        return daemonNames.contains(name) || daemonNames.contains { name == "\($0) (deleted)" }
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

import Foundation
import Libvirt

/// An open connection to the libvirt host vmctl manages, plus what vmctl needs to know about where it is.
public final class Session: @unchecked Sendable {
    public static let defaultURI = "qemu:///system"

    public let uri: String
    public let connection: Connection
    /// True when libvirtd runs on this machine: host files (serial logs) and guest bridges are reachable.
    public let isLocal: Bool
    /// Set when vmctl moved into the network namespace libvirtd runs in.
    public let joinedNamespace: HostNamespace.Joined?

    public init(uri: String) throws {
        self.uri = uri
        self.isLocal = Self.isLocal(uri: uri)
        // Guests' bridges live in libvirtd's network namespace; join it before any socket is opened so
        // address probes and ssh reach the guests, and never go out through this namespace's routes.
        self.joinedNamespace = isLocal ? try HostNamespace.joinLibvirtd() : nil
        if isLocal { ManagementGroup.adopt() }
        do {
            connection = try Connection(uri: uri)
        } catch let error as LibvirtError {
            throw VMCtlError("cannot connect to libvirt at '\(uri)': \(error.message)")
        }
    }

    static func isLocal(uri: String) -> Bool {
        guard let url = URL(string: uri), let scheme = url.scheme else { return false }
        let transport = scheme.split(separator: "+").dropFirst().first.map(String.init)
        return (url.host ?? "").isEmpty && (transport == nil || transport == "unix")
    }

    private var kvmStatusCache: KVMStatus?
    private let kvmStatusLock = NSLock()
    /// Probed once, on first use; apply's worker threads ask at the same time, so the cache is read and
    /// written under a lock (the first asker probes, the others wait for its answer).
    public var kvmStatus: KVMStatus {
        kvmStatusLock.withLock {
            if let kvmStatusCache { return kvmStatusCache }
            let status = KVMStatus.probe(connection: connection, isLocal: isLocal)
            kvmStatusCache = status
            return status
        }
    }
}

/// NAT networks keep host processes away from guests, as VirtualBox's NAT does. vmctl's own traffic to
/// guests (readiness probes, ssh) is its management channel: it runs with the `vmctl` group, and the
/// firewall lets that group's sockets through.
public enum ManagementGroup {
    public static let name = "vmctl"

    public static var gid: UInt32? { getgrnam(name).map { UInt32($0.pointee.gr_gid) } }

    /// Takes the group as real and effective group (root only; libvirt refuses to run with the two
    /// different, as in a setgid program); sockets and child processes then carry it.
    static func adopt() {
        guard getuid() == 0, let gid else { return }
        _ = setgid(gid_t(gid))
    }
}

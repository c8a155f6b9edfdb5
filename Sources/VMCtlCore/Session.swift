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

    /// Opens `uri` after `LibvirtURI` accepted it: whoever wrote the text (a lab file, `$VMCTL_CONNECT`),
    /// libvirt never runs a program or reads a file it names.
    public convenience init(uri: String) throws {
        try self.init(uri: LibvirtURI(uri))
    }

    public init(uri validated: LibvirtURI) throws {
        let uri = validated.text
        self.uri = uri
        self.isLocal = validated.isLocal
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

/// Host processes reach guests only as the guests' networks and security groups allow (not at all on nat
/// and isolated networks, as with VirtualBox's NAT). vmctl's own traffic to guests (readiness probes, ssh)
/// is its management channel: it runs with the `vmctl` group, and the firewall lets that group's sockets
/// reach every guest on every port.
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

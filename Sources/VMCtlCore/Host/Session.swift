import Foundation
import Libvirt
import Synchronization

/// An open connection to the libvirt host vmctl manages, plus what vmctl needs to know about where it is.
public final class Session: Sendable {
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
        // libvirt's test driver lives inside this process: no daemon to share a namespace with, no guest
        // bridge or file on this host, and none of its made-up state may reach this host's firewall or group.
        self.isLocal = validated.isLocal && validated.driver != "test"
        // Guests' bridges live in libvirtd's network namespace; join it before any socket is opened so
        // address probes and ssh reach the guests, and never go out through this namespace's routes.
        self.joinedNamespace = isLocal ? try HostNamespace.joinLibvirtd() : nil
        if isLocal { ManagementGroup.adopt() }
        do {
            connection = try Connection(uri: uri)
        } catch let error as LibvirtError {
            // Whatever libvirt's number for it, a connection that cannot be opened means no daemon to ask, unless it refused us.
            throw VMCtlError(error.isAccessDenied ? .permission : .unavailable, "cannot connect to libvirt at '\(uri)': \(error.message)", cause: error)
        }
    }

    /// Probed once, on first use; apply's worker threads ask at the same time, so the cache lives in a
    /// Mutex (the first asker probes, the others wait for its answer) and the compiler checks it is.
    private let kvmStatusCache = Mutex<KVMStatus?>(nil)
    public var kvmStatus: KVMStatus {
        kvmStatusCache.withLock { cache in
            if let cache { return cache }
            let status = KVMStatus.probe(connection: connection, isLocal: isLocal)
            cache = status
            return status
        }
    }
}

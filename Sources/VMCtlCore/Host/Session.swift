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
            // Whatever libvirt's number for it, a connection that cannot be opened means no daemon to ask, unless it refused us.
            throw VMCtlError(error.isAccessDenied ? .permission : .unavailable, "cannot connect to libvirt at '\(uri)': \(error.message)", cause: error)
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

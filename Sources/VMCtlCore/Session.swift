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
        self.joinedNamespace = isLocal ? HostNamespace.joinLibvirtd() : nil
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
    public var kvmStatus: KVMStatus {
        if let kvmStatusCache { return kvmStatusCache }
        let status = KVMStatus.probe(connection: connection, isLocal: isLocal)
        kvmStatusCache = status
        return status
    }
}

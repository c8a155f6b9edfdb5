internal import CLibvirt

/// A connection to a libvirt daemon (or to the in-process `test:///` driver).
///
/// libvirt connections may be shared between threads; errors are reported per thread.
public final class Connection: @unchecked Sendable {
    let raw: virConnectPtr

    /// Opens `uri` (nil lets libvirt choose its default).
    public init(uri: String?, readOnly: Bool = false) throws {
        try Library.prepare()
        let opened = readOnly ? virConnectOpenReadOnly(uri) : virConnectOpen(uri)
        guard let opened else { throw LibvirtError.last(fallback: "cannot connect to \(uri ?? "libvirt")") }
        raw = opened
    }

    deinit { virConnectClose(raw) }

    public var uri: String { get throws { try takeString(virConnectGetURI(raw)) } }
    public var hostname: String { get throws { try takeString(virConnectGetHostname(raw)) } }
    public var isAlive: Bool { virConnectIsAlive(raw) == 1 }

    /// The hypervisor's version as (major, minor, release).
    public var hypervisorVersion: (major: Int, minor: Int, release: Int) {
        get throws {
            var version: UInt = 0
            try check(virConnectGetVersion(raw, &version))
            return (Int(version / 1_000_000), Int(version / 1000 % 1000), Int(version % 1000))
        }
    }

    public var libraryVersion: (major: Int, minor: Int, release: Int) {
        get throws {
            var version: UInt = 0
            try check(virConnectGetLibVersion(raw, &version))
            return (Int(version / 1_000_000), Int(version / 1000 % 1000), Int(version % 1000))
        }
    }

    public func capabilities() throws -> String { try takeString(virConnectGetCapabilities(raw)) }

    public func domainCapabilities(
        emulator: String? = nil, arch: String? = nil, machine: String? = nil, virtType: String? = nil
    ) throws -> String {
        try takeString(virConnectGetDomainCapabilities(raw, emulator, arch, machine, virtType, 0))
    }

    public func newStream(nonBlocking: Bool = false) throws -> Stream {
        let flags = nonBlocking ? VIR_STREAM_NONBLOCK.rawValue : 0
        guard let stream = virStreamNew(raw, flags) else { throw LibvirtError.last() }
        return Stream(raw: stream, connection: self)
    }

    // MARK: Domains

    public func listAllDomains(_ flags: ListDomainsFlags = []) throws -> [Domain] {
        var array: UnsafeMutablePointer<virDomainPtr?>?
        let count = virConnectListAllDomains(raw, &array, flags.rawValue)
        return try takeArray(count: count, array) { Domain(raw: $0, connection: self) }
    }

    public func lookupDomain(name: String) throws -> Domain {
        guard let domain = virDomainLookupByName(raw, name) else { throw LibvirtError.last() }
        return Domain(raw: domain, connection: self)
    }

    public func lookupDomain(uuid: String) throws -> Domain {
        guard let domain = virDomainLookupByUUIDString(raw, uuid) else { throw LibvirtError.last() }
        return Domain(raw: domain, connection: self)
    }

    /// Defines (or redefines) a persistent domain from XML.
    public func defineDomain(xml: String, validate: Bool = true) throws -> Domain {
        let flags = validate ? VIR_DOMAIN_DEFINE_VALIDATE.rawValue : 0
        guard let domain = virDomainDefineXMLFlags(raw, xml, flags) else { throw LibvirtError.last() }
        return Domain(raw: domain, connection: self)
    }

    // MARK: Networks

    public func listAllNetworks(_ flags: ListNetworksFlags = []) throws -> [Network] {
        var array: UnsafeMutablePointer<virNetworkPtr?>?
        let count = virConnectListAllNetworks(raw, &array, flags.rawValue)
        return try takeArray(count: count, array) { Network(raw: $0, connection: self) }
    }

    public func lookupNetwork(name: String) throws -> Network {
        guard let network = virNetworkLookupByName(raw, name) else { throw LibvirtError.last() }
        return Network(raw: network, connection: self)
    }

    public func defineNetwork(xml: String) throws -> Network {
        guard let network = virNetworkDefineXML(raw, xml) else { throw LibvirtError.last() }
        return Network(raw: network, connection: self)
    }

    // MARK: Storage

    public func listAllStoragePools(_ flags: ListStoragePoolsFlags = []) throws -> [StoragePool] {
        var array: UnsafeMutablePointer<virStoragePoolPtr?>?
        let count = virConnectListAllStoragePools(raw, &array, flags.rawValue)
        return try takeArray(count: count, array) { StoragePool(raw: $0, connection: self) }
    }

    public func lookupStoragePool(name: String) throws -> StoragePool {
        guard let pool = virStoragePoolLookupByName(raw, name) else { throw LibvirtError.last() }
        return StoragePool(raw: pool, connection: self)
    }

    public func defineStoragePool(xml: String) throws -> StoragePool {
        guard let pool = virStoragePoolDefineXML(raw, xml, 0) else { throw LibvirtError.last() }
        return StoragePool(raw: pool, connection: self)
    }

    public func lookupStorageVolume(path: String) throws -> StorageVolume {
        guard let volume = virStorageVolLookupByPath(raw, path) else { throw LibvirtError.last() }
        return StorageVolume(raw: volume, connection: self)
    }
}

public struct ListDomainsFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let active = Self(rawValue: VIR_CONNECT_LIST_DOMAINS_ACTIVE.rawValue)
    public static let inactive = Self(rawValue: VIR_CONNECT_LIST_DOMAINS_INACTIVE.rawValue)
    public static let persistent = Self(rawValue: VIR_CONNECT_LIST_DOMAINS_PERSISTENT.rawValue)
}

public struct ListNetworksFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let active = Self(rawValue: VIR_CONNECT_LIST_NETWORKS_ACTIVE.rawValue)
    public static let inactive = Self(rawValue: VIR_CONNECT_LIST_NETWORKS_INACTIVE.rawValue)
}

public struct ListStoragePoolsFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let active = Self(rawValue: VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE.rawValue)
    public static let inactive = Self(rawValue: VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE.rawValue)
}

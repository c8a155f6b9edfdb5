internal import CLibvirt

/// A libvirt storage pool: a place (directory, LVM group, …) that holds volumes.
public final class StoragePool: @unchecked Sendable {
    let raw: virStoragePoolPtr
    public let connection: Connection

    init(raw: virStoragePoolPtr, connection: Connection) {
        self.raw = raw
        self.connection = connection
    }

    deinit { virStoragePoolFree(raw) }

    public var name: String { virStoragePoolGetName(raw).map { String(cString: $0) } ?? "" }
    public var uuid: String { get throws { try uuidString { virStoragePoolGetUUIDString(raw, $0) } } }
    public var isActive: Bool { get throws { try boolResult(virStoragePoolIsActive(raw)) } }

    public func info() throws -> StoragePoolInfo {
        var info = virStoragePoolInfo()
        try check(virStoragePoolGetInfo(raw, &info))
        return StoragePoolInfo(
            isRunning: info.state == Int32(VIR_STORAGE_POOL_RUNNING.rawValue),
            capacity: UInt64(info.capacity), allocation: UInt64(info.allocation), available: UInt64(info.available))
    }

    public func xml() throws -> String { try takeString(virStoragePoolGetXMLDesc(raw, 0)) }

    /// Prepares the pool's backing (for a directory pool: creates the directory).
    public func build() throws { try check(virStoragePoolBuild(raw, 0)) }
    /// Starts the pool; `building` first creates what it stands on (a dir pool's directory, keeping one
    /// that exists), so a pool whose directory was removed while it was stopped can start again.
    public func start(building: Bool = false) throws {
        let flags = building ? UInt32(VIR_STORAGE_POOL_CREATE_WITH_BUILD.rawValue) : 0
        try check(virStoragePoolCreate(raw, flags))
    }
    public func destroy() throws { try check(virStoragePoolDestroy(raw)) }
    public func undefine() throws { try check(virStoragePoolUndefine(raw)) }
    public func refresh() throws { try check(virStoragePoolRefresh(raw, 0)) }
    public func setAutostart(_ enabled: Bool) throws { try check(virStoragePoolSetAutostart(raw, enabled ? 1 : 0)) }

    public func listAllVolumes() throws -> [StorageVolume] {
        var array: UnsafeMutablePointer<virStorageVolPtr?>?
        let count = virStoragePoolListAllVolumes(raw, &array, 0)
        return try takeArray(count: count, array) { StorageVolume(raw: $0, connection: connection) }
    }

    public func lookupVolume(name: String) throws -> StorageVolume {
        guard let volume = virStorageVolLookupByName(raw, name) else { throw LibvirtError.last() }
        return StorageVolume(raw: volume, connection: connection)
    }

    public func createVolume(xml: String) throws -> StorageVolume {
        guard let volume = virStorageVolCreateXML(raw, xml, 0) else { throw LibvirtError.last() }
        return StorageVolume(raw: volume, connection: connection)
    }

    /// Creates a volume whose content is copied from `source` by the daemon (no data crosses the connection).
    public func createVolume(xml: String, copying source: StorageVolume) throws -> StorageVolume {
        guard let volume = virStorageVolCreateXMLFrom(raw, xml, source.raw, 0) else { throw LibvirtError.last() }
        return StorageVolume(raw: volume, connection: connection)
    }
}

public struct StoragePoolInfo: Sendable, Equatable {
    public let isRunning: Bool
    public let capacity: UInt64
    public let allocation: UInt64
    public let available: UInt64
}

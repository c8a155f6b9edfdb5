internal import CLibvirt

/// A volume (disk image) in a storage pool.
public final class StorageVolume: @unchecked Sendable {
    let raw: virStorageVolPtr
    public let connection: Connection

    init(raw: virStorageVolPtr, connection: Connection) {
        self.raw = raw
        self.connection = connection
    }

    deinit { virStorageVolFree(raw) }

    public var name: String { virStorageVolGetName(raw).map { String(cString: $0) } ?? "" }
    /// The daemon-side unique key (for file volumes: the path).
    public var key: String { virStorageVolGetKey(raw).map { String(cString: $0) } ?? "" }
    public var path: String { get throws { try takeString(virStorageVolGetPath(raw)) } }

    public func info() throws -> StorageVolumeInfo {
        var info = virStorageVolInfo()
        try check(virStorageVolGetInfo(raw, &info))
        return StorageVolumeInfo(capacity: UInt64(info.capacity), allocation: UInt64(info.allocation))
    }

    /// Bytes the volume occupies as a file: for a qcow2 volume its length, which is what a download sends
    /// (`info().allocation` counts used blocks instead, and `capacity` is the guest's view).
    public func physicalSize() throws -> UInt64 {
        var info = virStorageVolInfo()
        try check(virStorageVolGetInfoFlags(raw, &info, VIR_STORAGE_VOL_GET_PHYSICAL.rawValue))
        return UInt64(info.allocation)
    }

    public func xml() throws -> String { try takeString(virStorageVolGetXMLDesc(raw, 0)) }

    public func delete() throws { try check(virStorageVolDelete(raw, 0)) }

    /// Changes the volume's capacity (growing only unless `allowShrink`).
    public func resize(capacity: UInt64, allowShrink: Bool = false) throws {
        let flags = allowShrink ? VIR_STORAGE_VOL_RESIZE_SHRINK.rawValue : 0
        try check(virStorageVolResize(raw, capacity, flags))
    }

    /// Starts sending `length` bytes into the volume at `offset` through `stream`.
    public func beginUpload(_ stream: Stream, offset: UInt64 = 0, length: UInt64) throws {
        try check(virStorageVolUpload(raw, stream.raw, offset, length, 0))
    }

    /// Starts receiving `length` bytes (0: all) of the volume at `offset` through `stream`.
    public func beginDownload(_ stream: Stream, offset: UInt64 = 0, length: UInt64 = 0) throws {
        try check(virStorageVolDownload(raw, stream.raw, offset, length, 0))
    }
}

public struct StorageVolumeInfo: Sendable, Equatable {
    /// Size the guest sees, in bytes.
    public let capacity: UInt64
    /// Bytes actually used on the host.
    public let allocation: UInt64
}

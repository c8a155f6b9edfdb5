internal import CLibvirt

/// A snapshot of a domain's disks (and, for running domains, its memory).
public final class DomainSnapshot: @unchecked Sendable {
    let raw: virDomainSnapshotPtr
    public let domain: Domain

    init(raw: virDomainSnapshotPtr, domain: Domain) {
        self.raw = raw
        self.domain = domain
    }

    deinit { virDomainSnapshotFree(raw) }

    public var name: String { virDomainSnapshotGetName(raw).map { String(cString: $0) } ?? "" }

    public func xml() throws -> String { try takeString(virDomainSnapshotGetXMLDesc(raw, 0)) }

    public var isCurrent: Bool { get throws { try boolResult(virDomainSnapshotIsCurrent(raw, 0)) } }

    /// The parent snapshot, or nil for a root snapshot.
    public func parent() throws -> DomainSnapshot? {
        guard let parent = virDomainSnapshotGetParent(raw, 0) else {
            let error = LibvirtError.last()
            if error.isNotFound { return nil }
            throw error
        }
        return DomainSnapshot(raw: parent, domain: domain)
    }

    public func children(recursive: Bool = false) throws -> [DomainSnapshot] {
        var array: UnsafeMutablePointer<virDomainSnapshotPtr?>?
        let flags = recursive ? VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS.rawValue : 0
        let count = virDomainSnapshotListAllChildren(raw, &array, flags)
        return try takeArray(count: count, array) { DomainSnapshot(raw: $0, domain: domain) }
    }

    public func revert(_ flags: SnapshotRevertFlags = []) throws {
        try check(virDomainRevertToSnapshot(raw, flags.rawValue))
    }

    public func delete(_ flags: SnapshotDeleteFlags = []) throws {
        try check(virDomainSnapshotDelete(raw, flags.rawValue))
    }
}

public struct SnapshotRevertFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let running = Self(rawValue: VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING.rawValue)
    public static let paused = Self(rawValue: VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED.rawValue)
    public static let force = Self(rawValue: VIR_DOMAIN_SNAPSHOT_REVERT_FORCE.rawValue)
}

public struct SnapshotDeleteFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let children = Self(rawValue: VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN.rawValue)
    public static let metadataOnly = Self(rawValue: VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY.rawValue)
}

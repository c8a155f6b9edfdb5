internal import CLibvirt

/// A libvirt domain (a virtual machine), defined or running.
public final class Domain: @unchecked Sendable {
    let raw: virDomainPtr
    public let connection: Connection

    init(raw: virDomainPtr, connection: Connection) {
        self.raw = raw
        self.connection = connection
    }

    deinit { virDomainFree(raw) }

    public var name: String {
        // libvirt owns the returned string for the handle's lifetime; it is never NULL for a valid handle.
        virDomainGetName(raw).map { String(cString: $0) } ?? ""
    }

    public var uuid: String { get throws { try uuidString { virDomainGetUUIDString(raw, $0) } } }

    public var isActive: Bool { get throws { try boolResult(virDomainIsActive(raw)) } }
    public var isPersistent: Bool { get throws { try boolResult(virDomainIsPersistent(raw)) } }

    public func state() throws -> DomainState {
        var state: Int32 = 0
        var reason: Int32 = 0
        try check(virDomainGetState(raw, &state, &reason, 0))
        return DomainState(rawValue: state) ?? .noState
    }

    public func info() throws -> DomainInfo {
        var info = virDomainInfo()
        try check(virDomainGetInfo(raw, &info))
        return DomainInfo(
            state: DomainState(rawValue: Int32(info.state)) ?? .noState,
            maxMemoryKiB: UInt64(info.maxMem),
            memoryKiB: UInt64(info.memory),
            vcpus: Int(info.nrVirtCpu),
            cpuTimeNanoseconds: UInt64(info.cpuTime)
        )
    }

    public func xml(_ flags: DomainXMLFlags = []) throws -> String {
        try takeString(virDomainGetXMLDesc(raw, flags.rawValue))
    }

    /// Boots a defined domain.
    public func start(paused: Bool = false) throws {
        try check(virDomainCreateWithFlags(raw, paused ? VIR_DOMAIN_START_PAUSED.rawValue : 0))
    }

    /// Asks the guest to power off (ACPI power button); returns before the guest is down.
    public func shutdown() throws { try check(virDomainShutdown(raw)) }

    /// Powers the domain off at once, like pulling the plug.
    public func destroy(graceful: Bool = false) throws {
        try check(virDomainDestroyFlags(raw, graceful ? VIR_DOMAIN_DESTROY_GRACEFUL.rawValue : 0))
    }

    public func reboot() throws { try check(virDomainReboot(raw, 0)) }
    public func suspend() throws { try check(virDomainSuspend(raw)) }
    public func resume() throws { try check(virDomainResume(raw)) }

    public func undefine(_ flags: UndefineFlags = []) throws {
        try check(virDomainUndefineFlags(raw, flags.rawValue))
    }

    public func setAutostart(_ enabled: Bool) throws { try check(virDomainSetAutostart(raw, enabled ? 1 : 0)) }

    /// The custom metadata element stored under `namespaceURI`, or nil when there is none.
    public func metadata(namespaceURI: String, _ flags: ModificationFlags = []) throws -> String? {
        let xml = virDomainGetMetadata(raw, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), namespaceURI, flags.rawValue)
        guard let xml else {
            let error = LibvirtError.last()
            if error.isNotFound { return nil }
            throw error
        }
        defer { free(xml) }
        return String(cString: xml)
    }

    /// Replaces the custom metadata element under `namespaceURI` (nil removes it).
    public func setMetadata(
        _ xml: String?, key: String, namespaceURI: String, _ flags: ModificationFlags = []
    ) throws {
        try check(virDomainSetMetadata(
            raw, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), xml, key, namespaceURI, flags.rawValue))
    }

    public func interfaceAddresses(source: InterfaceAddressSource) throws -> [DomainInterface] {
        var ifaces: UnsafeMutablePointer<virDomainInterfacePtr?>?
        let count = virDomainInterfaceAddresses(raw, &ifaces, source.rawValue, 0)
        guard count >= 0 else { throw LibvirtError.last() }
        guard let ifaces else { return [] }
        defer { free(ifaces) }
        return (0..<Int(count)).compactMap { index in
            guard let iface = ifaces[index] else { return nil }
            defer { virDomainInterfaceFree(iface) }
            let addresses = (0..<Int(iface.pointee.naddrs)).compactMap { i -> String? in
                iface.pointee.addrs[i].addr.map { String(cString: $0) }
            }
            return DomainInterface(
                name: iface.pointee.name.map { String(cString: $0) } ?? "",
                mac: iface.pointee.hwaddr.map { String(cString: $0) },
                addresses: addresses
            )
        }
    }

    public func setVcpus(_ count: Int, _ flags: ModificationFlags = []) throws {
        try check(virDomainSetVcpusFlags(raw, UInt32(count), flags.rawValue))
    }

    public func setMemory(kibibytes: UInt64, _ flags: ModificationFlags = []) throws {
        try check(virDomainSetMemoryFlags(raw, UInt(kibibytes), flags.rawValue))
    }

    /// Changes the memory ceiling (the balloon's maximum); only with `.config` while the domain runs.
    public func setMaximumMemory(kibibytes: UInt64, _ flags: ModificationFlags = [.config]) throws {
        try check(virDomainSetMemoryFlags(raw, UInt(kibibytes), flags.rawValue | VIR_DOMAIN_MEM_MAXIMUM.rawValue))
    }

    /// Starts copying all data from a disk's backing chain into the disk itself (a block pull job);
    /// when the job ends, the disk no longer depends on any backing file.
    public func beginBlockPull(disk: String) throws {
        try check(virDomainBlockPull(raw, disk, 0, 0))
    }

    /// Progress of the block job on `disk`, or nil when no job runs there.
    public func blockJob(disk: String) throws -> (current: UInt64, end: UInt64)? {
        var info = virDomainBlockJobInfo()
        let result = virDomainGetBlockJobInfo(raw, disk, &info, 0)
        guard result >= 0 else { throw LibvirtError.last() }
        return result == 0 ? nil : (UInt64(info.cur), UInt64(info.end))
    }

    /// Grows a disk of a running domain to `bytes`.
    public func blockResize(disk: String, bytes: UInt64) throws {
        try check(virDomainBlockResize(raw, disk, bytes, VIR_DOMAIN_BLOCK_RESIZE_BYTES.rawValue))
    }

    // MARK: Snapshots

    public func createSnapshot(xml: String, _ flags: SnapshotCreateFlags = []) throws -> DomainSnapshot {
        guard let snapshot = virDomainSnapshotCreateXML(raw, xml, flags.rawValue) else { throw LibvirtError.last() }
        return DomainSnapshot(raw: snapshot, domain: self)
    }

    public func listAllSnapshots(_ flags: SnapshotListFlags = []) throws -> [DomainSnapshot] {
        var array: UnsafeMutablePointer<virDomainSnapshotPtr?>?
        let count = virDomainListAllSnapshots(raw, &array, flags.rawValue)
        return try takeArray(count: count, array) { DomainSnapshot(raw: $0, domain: self) }
    }

    public func lookupSnapshot(name: String) throws -> DomainSnapshot {
        guard let snapshot = virDomainSnapshotLookupByName(raw, name, 0) else { throw LibvirtError.last() }
        return DomainSnapshot(raw: snapshot, domain: self)
    }

    /// Attaches `stream` to the domain's first console (serial port), for interactive use.
    public func openConsole(_ stream: Stream, force: Bool = false) throws {
        try check(virDomainOpenConsole(raw, nil, stream.raw, force ? VIR_DOMAIN_CONSOLE_FORCE.rawValue : 0))
    }
}

func boolResult(_ value: Int32) throws -> Bool {
    if value < 0 { throw LibvirtError.last() }
    return value == 1
}

public enum DomainState: Int32, Sendable, CustomStringConvertible {
    case noState = 0, running, blocked, paused, shutdown, shutoff, crashed, pmSuspended

    public var description: String {
        switch self {
        case .noState: "unknown"
        case .running: "running"
        case .blocked: "blocked"
        case .paused: "paused"
        case .shutdown: "shutting-down"
        case .shutoff: "shut-off"
        case .crashed: "crashed"
        case .pmSuspended: "suspended"
        }
    }
}

public struct DomainInfo: Sendable, Equatable {
    public let state: DomainState
    public let maxMemoryKiB: UInt64
    public let memoryKiB: UInt64
    public let vcpus: Int
    public let cpuTimeNanoseconds: UInt64
}

public struct DomainInterface: Sendable, Equatable {
    public let name: String
    public let mac: String?
    public let addresses: [String]
}

public enum InterfaceAddressSource: UInt32, Sendable {
    case lease = 0, agent = 1, arp = 2
}

public struct DomainXMLFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let secure = Self(rawValue: VIR_DOMAIN_XML_SECURE.rawValue)
    public static let inactive = Self(rawValue: VIR_DOMAIN_XML_INACTIVE.rawValue)
}

/// Whether a change applies to the running domain, its persistent definition, or both.
public struct ModificationFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let live = Self(rawValue: VIR_DOMAIN_AFFECT_LIVE.rawValue)
    public static let config = Self(rawValue: VIR_DOMAIN_AFFECT_CONFIG.rawValue)
    /// For vCPU changes: the maximum rather than the current count.
    public static let maximum = Self(rawValue: VIR_DOMAIN_VCPU_MAXIMUM.rawValue)
}

public struct UndefineFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let managedSave = Self(rawValue: VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue)
    public static let snapshotsMetadata = Self(rawValue: VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue)
    public static let nvram = Self(rawValue: VIR_DOMAIN_UNDEFINE_NVRAM.rawValue)
    public static let checkpointsMetadata = Self(rawValue: VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA.rawValue)
    public static let everything: Self = [.managedSave, .snapshotsMetadata, .nvram, .checkpointsMetadata]
}

public struct SnapshotCreateFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let diskOnly = Self(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY.rawValue)
    public static let atomic = Self(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC.rawValue)
    public static let live = Self(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_LIVE.rawValue)
    public static let redefine = Self(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE.rawValue)
    public static let validate = Self(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE.rawValue)
    public static let halt = Self(rawValue: VIR_DOMAIN_SNAPSHOT_CREATE_HALT.rawValue)
}

/// Filters for `listAllSnapshots`.
public struct SnapshotListFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let roots = Self(rawValue: VIR_DOMAIN_SNAPSHOT_LIST_ROOTS.rawValue)
    /// Snapshots kept inside the domain's disk images.
    public static let `internal` = Self(rawValue: VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL.rawValue)
    /// Snapshots whose disks continue in overlay files (or with memory saved to a file).
    public static let external = Self(rawValue: VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL.rawValue)
}

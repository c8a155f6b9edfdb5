internal import CLibvirt

/// A libvirt virtual network (a bridge with optional NAT/routing, DHCP and DNS).
public final class Network: @unchecked Sendable {
    let raw: virNetworkPtr
    public let connection: Connection

    init(raw: virNetworkPtr, connection: Connection) {
        self.raw = raw
        self.connection = connection
    }

    deinit { virNetworkFree(raw) }

    public var name: String { virNetworkGetName(raw).map { String(cString: $0) } ?? "" }
    public var uuid: String { get throws { try uuidString { virNetworkGetUUIDString(raw, $0) } } }
    public var isActive: Bool { get throws { try boolResult(virNetworkIsActive(raw)) } }
    public var isPersistent: Bool { get throws { try boolResult(virNetworkIsPersistent(raw)) } }
    public var bridgeName: String { get throws { try takeString(virNetworkGetBridgeName(raw)) } }

    public var autostart: Bool {
        get throws {
            var value: Int32 = 0
            try check(virNetworkGetAutostart(raw, &value))
            return value == 1
        }
    }

    public func xml(inactive: Bool = false) throws -> String {
        try takeString(virNetworkGetXMLDesc(raw, inactive ? VIR_NETWORK_XML_INACTIVE.rawValue : 0))
    }

    public func start() throws { try check(virNetworkCreate(raw)) }
    public func destroy() throws { try check(virNetworkDestroy(raw)) }
    public func undefine() throws { try check(virNetworkUndefine(raw)) }
    public func setAutostart(_ enabled: Bool) throws { try check(virNetworkSetAutostart(raw, enabled ? 1 : 0)) }

    /// Changes one section of the network's definition, live and/or persistently, without restarting it.
    public func update(
        _ command: NetworkUpdateCommand, section: NetworkUpdateSection, xml: String,
        parentIndex: Int32 = -1, _ flags: NetworkUpdateFlags = [.live, .config]
    ) throws {
        try check(virNetworkUpdate(raw, command.rawValue, section.rawValue, parentIndex, xml, flags.rawValue))
    }

    /// Current DHCP leases, optionally only those of one MAC address.
    public func dhcpLeases(mac: String? = nil) throws -> [DHCPLease] {
        var leases: UnsafeMutablePointer<virNetworkDHCPLeasePtr?>?
        let count = virNetworkGetDHCPLeases(raw, mac, &leases, 0)
        guard count >= 0 else { throw LibvirtError.last() }
        guard let leases else { return [] }
        defer { free(leases) }
        return (0..<Int(count)).compactMap { index in
            guard let lease = leases[index] else { return nil }
            defer { virNetworkDHCPLeaseFree(lease) }
            let l = lease.pointee
            return DHCPLease(
                interface: l.iface.map { String(cString: $0) } ?? "",
                expiryTime: Int64(l.expirytime),
                mac: l.mac.map { String(cString: $0) } ?? "",
                address: l.ipaddr.map { String(cString: $0) } ?? "",
                prefix: Int(l.prefix),
                hostname: l.hostname.map { String(cString: $0) },
                isIPv6: l.type == Int32(VIR_IP_ADDR_TYPE_IPV6.rawValue)
            )
        }
    }
}

public struct DHCPLease: Sendable, Equatable {
    public let interface: String
    /// Seconds since the epoch.
    public let expiryTime: Int64
    public let mac: String
    public let address: String
    public let prefix: Int
    public let hostname: String?
    public let isIPv6: Bool
}

public enum NetworkUpdateCommand: UInt32, Sendable {
    case modify = 1, delete = 2, addLast = 3, addFirst = 4
}

public enum NetworkUpdateSection: UInt32, Sendable {
    case bridge = 1, domain, ip, ipDHCPHost, ipDHCPRange, forward, forwardInterface, forwardPF,
         portGroup, dnsHost, dnsTXT, dnsSRV
}

public struct NetworkUpdateFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let live = Self(rawValue: VIR_NETWORK_UPDATE_AFFECT_LIVE.rawValue)
    public static let config = Self(rawValue: VIR_NETWORK_UPDATE_AFFECT_CONFIG.rawValue)
}

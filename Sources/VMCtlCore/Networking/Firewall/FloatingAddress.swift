/// A floating address the host holds on an interface.
public struct FloatingAddress: Codable, Sendable, Hashable, Comparable, CustomStringConvertible {
    public let address: IPv4Address
    public let interface: String

    public init(address: IPv4Address, interface: String) {
        self.address = address
        self.interface = interface
    }

    public var description: String { "\(address)/32 on \(interface)" }

    public static func < (lhs: FloatingAddress, rhs: FloatingAddress) -> Bool {
        (lhs.address.value, lhs.interface) < (rhs.address.value, rhs.interface)
    }
}

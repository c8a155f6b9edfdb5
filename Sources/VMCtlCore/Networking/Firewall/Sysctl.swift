/// A kernel setting, as `sysctl` names it.
public struct Sysctl: Codable, Sendable, Hashable, CustomStringConvertible {
    public let key: String
    public let value: String
    /// The interface a per-interface setting belongs to: it exists only while the interface does (a
    /// stopped network has no bridge), and the reconcile its network's start triggers sets it then.
    public let interface: String?

    public init(key: String, value: String, interface: String? = nil) {
        self.key = key
        self.value = value
        self.interface = interface
    }

    public var description: String { "\(key)=\(value)" }
}

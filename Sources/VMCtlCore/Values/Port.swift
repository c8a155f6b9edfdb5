/// A TCP or UDP port a user names: 1 to 65535 (0 is the kernel's "any port", never a rule's or a forward's).
public struct Port: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let number: UInt16

    public init(_ number: UInt16) throws {
        guard number != 0 else { throw VMCtlError.invalid("invalid port 0: use 1-65535") }
        self.number = number
    }

    /// `what` names the port in the error ("host port", "guest port").
    public init(parsing text: String, what: String = "port") throws {
        guard let value = Int(text), (1...65535).contains(value) else {
            throw VMCtlError.invalid("invalid \(what) '\(ResourceName.printable(text))': use 1-65535")
        }
        self.number = UInt16(value)
    }

    public init(from decoder: Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(UInt16.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(number)
    }

    public static func < (lhs: Port, rhs: Port) -> Bool { lhs.number < rhs.number }
    public var description: String { String(number) }
}

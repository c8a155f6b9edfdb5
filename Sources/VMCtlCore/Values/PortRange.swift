/// Ports `first` through `last`, both included: what a security-group rule lets in.
public struct PortRange: Sendable, Hashable, Codable, CustomStringConvertible {
    public let first: Port
    public let last: Port

    public init(_ first: Port, _ last: Port) throws {
        guard first <= last else { throw VMCtlError.invalid("invalid ports '\(first)-\(last)': the range is reversed") }
        self.first = first
        self.last = last
    }

    public init(_ range: ClosedRange<UInt16>) throws {
        try self.init(try Port(range.lowerBound), try Port(range.upperBound))
    }

    /// `80` or `8000-8080`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { throw VMCtlError.invalid("invalid ports '\(ResourceName.printable(text))': use P or A-B") }
        let first = try Port(parsing: String(parts[0]))
        let last = parts.count == 2 ? try Port(parsing: String(parts[1])) : first
        guard first <= last else { throw VMCtlError.invalid("invalid ports '\(ResourceName.printable(text))': the range is reversed") }
        self.first = first
        self.last = last
    }

    /// Stored as `[first, last]`, the form the control state kept when ranges were `ClosedRange<UInt16>`.
    public init(from decoder: Decoder) throws {
        var container = try decoder.unkeyedContainer()
        let first = try container.decode(Port.self)
        let last = try container.decode(Port.self)
        try self.init(first, last)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(first)
        try container.encode(last)
    }

    /// The one spelling of a range, in the CLI's listings, a lab's plan and nft's `dport` alike.
    public var description: String { first == last ? "\(first)" : "\(first)-\(last)" }
}

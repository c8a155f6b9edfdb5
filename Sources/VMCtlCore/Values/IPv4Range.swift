import LibvirtXML

/// A range of IPv4 addresses, both ends included.
public struct IPv4Range: Codable, Sendable, Equatable, CustomStringConvertible {
    public let start: IPv4Address
    public let end: IPv4Address

    public init(start: IPv4Address, end: IPv4Address) {
        self.start = start
        self.end = end
    }

    /// Parses `A-B`.
    public init(parsing text: String, what: String) throws {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = IPv4Address(String(parts[0]).trimmingSpaces),
              let end = IPv4Address(String(parts[1]).trimmingSpaces), start.value <= end.value else {
            throw VMCtlError.invalid("invalid \(what) '\(ResourceName.printable(text))': use FIRST-LAST, e.g. 10.0.0.10-10.0.0.200")
        }
        self.init(start: start, end: end)
    }

    public func contains(_ address: IPv4Address) -> Bool { (start.value...end.value).contains(address.value) }
    public var count: Int { Int(end.value - start.value) + 1 }
    public var description: String { "\(start)-\(end)" }
}

/// An Ethernet unicast address, `52:54:00:12:34:56`, always lower case.
public struct MACAddress: Codable, Sendable, Hashable, CustomStringConvertible {
    public let description: String

    public init(_ text: String) throws {
        let octets = text.split(separator: ":", omittingEmptySubsequences: false)
        guard octets.count == 6, octets.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) && $0.allSatisfy(\.isASCII) }),
              let first = UInt8(octets[0], radix: 16) else {
            throw VMCtlError.invalid("invalid MAC address '\(ResourceName.printable(text))': use six hex pairs like 52:54:00:12:34:56")
        }
        // A group (multicast or broadcast) address never identifies one guest's port.
        guard first & 1 == 0 else { throw VMCtlError.invalid("invalid MAC address '\(text)': not a unicast address") }
        description = text.lowercased()
    }

    public init(from decoder: Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

import Foundation

/// A dotted-quad IPv4 address as a number.
public struct IPv4Address: Sendable, Hashable, CustomStringConvertible {
    public let value: UInt32

    init(unchecked value: UInt32) { self.value = value }

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let octet = UInt8(part) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        self.value = value
    }

    /// `what` names the address in the error ("floating IP", "host IP").
    public init(parsing text: String, what: String) throws {
        guard let address = IPv4Address(text) else { throw VMCtlError.invalid("invalid \(what) '\(ResourceName.printable(text))'") }
        self = address
    }

    public var description: String {
        [24, 16, 8, 0].map { String((value >> UInt32($0)) & 0xff) }.joined(separator: ".")
    }
}

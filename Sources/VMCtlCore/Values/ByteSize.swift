/// An amount of memory or disk, written the way VirtualBox and virsh users write it: `512M`, `2G`, `1.5GiB`.
/// A bare number means MiB, as in VirtualBox's `--memory 512`.
public struct ByteSize: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let bytes: UInt64

    public init(bytes: UInt64) { self.bytes = bytes }
    public static func mebibytes(_ value: UInt64) -> ByteSize { ByteSize(bytes: value << 20) }
    public static func gibibytes(_ value: UInt64) -> ByteSize { ByteSize(bytes: value << 30) }

    public var kibibytes: UInt64 { bytes >> 10 }
    public var mebibytes: UInt64 { bytes >> 20 }

    /// Sizes beyond this (1024T) are refused when parsed or decoded: no VM memory or disk comes near, and
    /// sums and doublings of sizes stay far from overflowing.
    public static let largest = ByteSize(bytes: 1 << 50)

    /// Parses in exact integer arithmetic: `2.049G` is 2.049 × 2^30 bytes rounded to the nearest byte,
    /// never a nearby binary fraction.
    public init(parsing text: String) throws {
        let invalid = VMCtlError.invalid("invalid size '\(ResourceName.printable(text))': use a number and a unit, e.g. 512M or 2G")
        let trimmed = text.trimmingSpaces
        let digits = trimmed.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = trimmed.dropFirst(digits.count).lowercased()
        let multipliers: [String: UInt64] = [
            "": 1 << 20, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
            "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
        ]
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        guard let multiplier = multipliers[unit], (1...2).contains(parts.count), !parts[0].isEmpty || parts.count == 2,
              parts.count == 1 || !parts[1].isEmpty, parts.allSatisfy({ $0.count <= 18 }) else { throw invalid }
        // Eighteen digits or fewer fit in UInt64; the products below are checked.
        let whole = UInt64(parts[0]) ?? 0
        let fraction = parts.count == 2 ? UInt64(parts[1])! : 0
        var scale: UInt64 = 1
        for _ in 0..<(parts.count == 2 ? parts[1].count : 0) { scale *= 10 }
        let (wholeBytes, overflow) = whole.multipliedReportingOverflow(by: multiplier)
        // fraction < scale ≤ 10^18 and multiplier ≤ 2^40: the product is taken in 128 bits.
        let (high, low) = fraction.multipliedFullWidth(by: multiplier)
        let (quotient, remainder) = scale.dividingFullWidth((high, low))
        let fractionBytes = quotient + (remainder >= scale - remainder ? 1 : 0)
        guard !overflow, wholeBytes <= Self.largest.bytes, fractionBytes <= Self.largest.bytes - wholeBytes else {
            throw VMCtlError.invalid("invalid size '\(ResourceName.printable(text))': more than \(Self.largest)")
        }
        self.bytes = wholeBytes + fractionBytes
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let bytes = try? container.decode(UInt64.self) {
            guard bytes <= Self.largest.bytes else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "size \(bytes) is more than \(Self.largest)")
            }
            self.init(bytes: bytes)
        } else {
            try self.init(parsing: container.decode(String.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        // Exact either way: a size no unit states exactly is written in bytes, never rounded.
        if description.contains(".") {
            try container.encode(bytes)
        } else {
            try container.encode(description)
        }
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    /// The largest unit that states the size exactly, else one decimal of the largest unit that fits.
    public var description: String {
        let units: [(String, UInt64)] = [("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)]
        for (suffix, size) in units where bytes >= size && bytes % size == 0 {
            return "\(bytes / size)\(suffix)"
        }
        for (suffix, size) in units where bytes >= size {
            // Whole units and rounded tenths of the rest, so no product can overflow.
            var whole = bytes / size
            var tenths = ((bytes % size) * 10 + size / 2) / size
            if tenths == 10 { whole += 1; tenths = 0 }
            return "\(whole).\(tenths)\(suffix)"
        }
        return "\(bytes)B"
    }

    /// The description when it states the size exactly, else the description and the exact bytes.
    public var exactDescription: String {
        let text = description
        return text.contains(".") ? "\(text) (\(bytes) bytes)" : text
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}

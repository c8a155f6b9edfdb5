/// An amount of memory or disk, written the way VirtualBox and virsh users write it: `512M`, `2G`, `1.5GiB`.
/// A bare number means MiB, as in VirtualBox's `--memory 512`.
public struct ByteSize: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let bytes: UInt64

    public init(bytes: UInt64) { self.bytes = bytes }
    public static func mebibytes(_ value: UInt64) -> ByteSize { ByteSize(bytes: value << 20) }
    public static func gibibytes(_ value: UInt64) -> ByteSize { ByteSize(bytes: value << 30) }

    public var kibibytes: UInt64 { bytes >> 10 }
    public var mebibytes: UInt64 { bytes >> 20 }

    public init(parsing text: String) throws {
        let trimmed = text.trimmingSpaces
        var numberEnd = trimmed.startIndex
        while numberEnd < trimmed.endIndex, trimmed[numberEnd].isNumber || trimmed[numberEnd] == "." {
            numberEnd = trimmed.index(after: numberEnd)
        }
        let number = trimmed[..<numberEnd]
        let unit = trimmed[numberEnd...].lowercased()
        let kib = 1024.0, mib = kib * 1024, gib = mib * 1024, tib = gib * 1024
        let multipliers: [String: Double] = [
            "": mib, "b": 1, "k": kib, "kb": kib, "kib": kib, "m": mib, "mb": mib, "mib": mib,
            "g": gib, "gb": gib, "gib": gib, "t": tib, "tb": tib, "tib": tib,
        ]
        guard !number.isEmpty, let value = Double(number), let multiplier = multipliers[unit],
              value.isFinite, value * multiplier < Double(UInt64.max / 2)
        else {
            throw VMCtlError("invalid size '\(ResourceName.printable(text))': use a number and a unit, e.g. 512M or 2G")
        }
        self.bytes = UInt64((value * multiplier).rounded())
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let bytes = try? container.decode(UInt64.self) {
            self.init(bytes: bytes)
        } else {
            try self.init(parsing: container.decode(String.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    /// The largest unit that states the size exactly, else one decimal of the largest unit that fits.
    public var description: String {
        let units: [(String, UInt64)] = [("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)]
        for (suffix, size) in units where bytes >= size && bytes % size == 0 {
            return "\(bytes / size)\(suffix)"
        }
        for (suffix, size) in units where bytes >= size {
            let tenths = (bytes * 10 + size / 2) / size
            return "\(tenths / 10).\(tenths % 10)\(suffix)"
        }
        return "\(bytes)B"
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

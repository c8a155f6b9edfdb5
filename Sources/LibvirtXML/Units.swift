/// Reads libvirt's scaled integers (`<memory unit='MiB'>512</memory>`, `<capacity unit='G'>2</capacity>`).
enum ScaledInteger {
    static func bytes(_ element: XML.Element?) -> UInt64? {
        guard let element, let value = UInt64(element.text.trimmed) else { return nil }
        guard let multiplier = multiplier(element[attribute: "unit"] ?? "bytes") else { return nil }
        return value.multipliedReportingOverflow(by: multiplier).overflow ? nil : value * multiplier
    }

    static func kibibytes(_ element: XML.Element?) -> UInt64? {
        guard let element else { return nil }
        // libvirt's memory elements default to KiB when no unit is given.
        var withUnit = element
        if withUnit[attribute: "unit"] == nil { withUnit[attribute: "unit"] = "KiB" }
        return bytes(withUnit).map { $0 / 1024 }
    }

    private static func multiplier(_ unit: String) -> UInt64? {
        switch unit {
        case "b", "bytes": 1
        case "KB": 1000
        case "k", "K", "KiB": 1 << 10
        case "MB": 1_000_000
        case "M", "MiB": 1 << 20
        case "GB": 1_000_000_000
        case "G", "GiB": 1 << 30
        case "TB": 1_000_000_000_000
        case "T", "TiB": 1 << 40
        default: nil
        }
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let first = s.first, first.isWhitespace { s.removeFirst() }
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return String(s)
    }
}

public struct DocumentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension XML.Element {
    func requiredText(_ child: String, in document: String) throws -> String {
        guard let value = first(child)?.text.trimmed, !value.isEmpty else {
            throw DocumentError("\(document) XML has no <\(child)>")
        }
        return value
    }

    func optionalText(_ child: String) -> String? { first(child)?.text }
}

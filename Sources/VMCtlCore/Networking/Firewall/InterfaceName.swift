/// Interface and bridge names as they appear in rules and in `ip` argv: strict enough that they never
/// carry nftables syntax (no quotes, spaces, braces or semicolons) and fit the kernel's IFNAMSIZ.
public enum InterfaceName {
    public static let maximumLength = 15

    public static func validate(_ name: String, kind: String) throws {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }
        guard !name.isEmpty, name.utf8.count <= maximumLength, allowed, name != ".", name != ".." else {
            throw VMCtlError.invalid(
                "invalid \(kind) name '\(ResourceName.printable(name))': use 1-\(maximumLength) letters, digits, '_', '-' or '.'")
        }
    }
}

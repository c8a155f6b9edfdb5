/// Names of VMs, images and networks double as hostnames, volume names and bridge-name parts,
/// so they are restricted to what is safe in all of those.
public enum ResourceName {
    public static let maximumLength = 63

    public static func validate(_ name: String, kind: String) throws {
        guard isValid(name) else {
            throw VMCtlError.invalid(
                "invalid \(kind) name '\(printable(name))': use 1-\(maximumLength) letters, digits or '-', not starting or ending with '-'")
        }
    }

    /// Whether `name` follows the rules `validate` enforces (for names read back from the host).
    static func isValid(_ name: String) -> Bool {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-")
        }
        return !name.isEmpty && name.utf8.count <= maximumLength && allowed && name.first != "-" && name.last != "-"
    }

    /// Shows a rejected name without letting control characters garble the terminal.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
    }
}

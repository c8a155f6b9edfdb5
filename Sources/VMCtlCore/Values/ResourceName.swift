/// Names of VMs, images and networks double as hostnames, volume names and bridge-name parts,
/// so they are restricted to what is safe in all of those.
public enum ResourceName {
    public static let maximumLength = DNSName.maximumLabelLength

    public static func validate(_ name: String, kind: String) throws {
        guard isValid(name) else {
            throw VMCtlError.invalid(
                "invalid \(kind) name '\(printable(name))': use 1-\(maximumLength) letters, digits or '-', not starting or ending with '-'")
        }
    }

    /// Whether `name` follows the rules `validate` enforces (for names read back from the host).
    static func isValid(_ name: String) -> Bool { DNSName.isLabel(name) }

    /// Shows a rejected name without letting control characters garble the terminal.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
    }
}

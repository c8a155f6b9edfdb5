/// The one allow-list for names that end up in DNS: labels of ASCII letters, digits and `-`, none starting or
/// ending with `-`, each 1 to 63 bytes and 253 in all. VM, image and network names are single labels (they
/// double as guest hostnames); network domains and the hosts of libvirt URIs are whole names.
public enum DNSName {
    public static let maximumLabelLength = 63
    public static let maximumLength = 253

    public static func isLabel(_ label: some StringProtocol) -> Bool {
        let letterDigitHyphen = label.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-")
        }
        return letterDigitHyphen && (1...maximumLabelLength).contains(label.utf8.count)
            && label.first != "-" && label.last != "-"
    }

    public static func isName(_ text: String) -> Bool {
        text.utf8.count <= maximumLength && text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isLabel)
    }
}

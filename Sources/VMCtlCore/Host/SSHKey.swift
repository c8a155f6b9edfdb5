import Foundation

public enum SSHKey {
    /// One line of the form `TYPE BASE64 [comment]`, as in authorized_keys.
    public static func looksLikePublicKey(_ line: String) -> Bool {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        // No control character anywhere: the key goes into the seed's YAML, which may not hold one.
        guard parts.count >= 2, !line.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return false }
        let knownTypes = ["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                          "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"]
        return knownTypes.contains(String(parts[0]))
            && parts[1].allSatisfy { $0.isLetter || $0.isNumber || "+/=".contains($0) }
    }

    /// Reads the keys of an authorized_keys-style file (comments and blank lines skipped).
    public static func read(file: LocalFilePath) throws -> [String] {
        let path = file.text
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw VMCtlError.invalid("cannot read SSH key file '\(path)'")
        }
        let keys = text.split(whereSeparator: \.isNewline).map { String($0).trimmingSpaces }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !keys.isEmpty, keys.allSatisfy(looksLikePublicKey) else {
            throw VMCtlError.invalid("'\(path)' does not hold SSH public keys (expected lines like 'ssh-ed25519 AAAA... comment')")
        }
        return keys
    }
}

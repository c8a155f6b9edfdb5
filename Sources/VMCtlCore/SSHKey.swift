import Foundation

/// vmctl's own SSH key pair, injected into every VM it creates so that `vmctl ssh` works at once.
public struct SSHKeyStore: Sendable {
    public let directory: String

    public init(directory: String = VMCtlPaths.stateDirectory + "/ssh") { self.directory = directory }

    public var privateKeyPath: String { directory + "/id_ed25519" }
    public var publicKeyPath: String { privateKeyPath + ".pub" }

    /// The public key, generating the pair on first use.
    public func ensurePublicKey() throws -> String {
        if !FileManager.default.fileExists(atPath: publicKeyPath) {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try ProcessRunner.run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "vmctl", "-f", privateKeyPath])
        }
        return try String(contentsOfFile: publicKeyPath, encoding: .utf8).trimmingSpaces
    }
}

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
    public static func read(file path: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw VMCtlError("cannot read SSH key file '\(path)'")
        }
        let keys = text.split(whereSeparator: \.isNewline).map { String($0).trimmingSpaces }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !keys.isEmpty, keys.allSatisfy(looksLikePublicKey) else {
            throw VMCtlError("'\(path)' does not hold SSH public keys (expected lines like 'ssh-ed25519 AAAA... comment')")
        }
        return keys
    }
}

public enum VMCtlPaths {
    /// Local state that is not about a VM (vmctl's SSH key, image build cache).
    public static var stateDirectory: String {
        if let override = ProcessInfo.processInfo.environment["VMCTL_STATE_DIR"] { return override }
        return getuid() == 0 ? "/var/lib/vmctl" : NSHomeDirectory() + "/.local/share/vmctl"
    }

    /// Where the vmctl storage pool keeps its volumes on the libvirt host.
    public static let poolDirectory = "/var/lib/vmctl/pool"
}

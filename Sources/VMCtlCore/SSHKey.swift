import Foundation

/// vmctl's own SSH key pair, injected into every VM it creates so that `vmctl ssh` works at once.
public struct SSHKeyStore: Sendable {
    public let directory: String

    public init(directory: String = VMCtlPaths.stateDirectory + "/ssh") { self.directory = directory }

    public var privateKeyPath: String { directory + "/id_ed25519" }
    public var publicKeyPath: String { privateKeyPath + ".pub" }

    /// The public key, generating the pair on first use. Several first runs at once agree on one pair:
    /// each generates under a name of its own and links it into place; link(2) lets exactly one win, and
    /// the others use the winner's key. The private key goes first, so a public key always has its private key.
    public func ensurePublicKey() throws -> String {
        if !FileManager.default.fileExists(atPath: publicKeyPath) {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let temporary = directory + "/.id_ed25519.\(getpid()).\(UInt64.random(in: 0...UInt64.max))"
            defer {
                unlink(temporary)
                unlink(temporary + ".pub")
            }
            if !FileManager.default.fileExists(atPath: privateKeyPath) {
                try ProcessRunner.run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "vmctl", "-f", temporary])
                try linkIntoPlace(temporary, privateKeyPath)
            }
            // From the private key in place, whoever made it: the winner's, or one whose public key a killed
            // run never linked.
            let publicKey = try ProcessRunner.run("ssh-keygen", ["-y", "-f", privateKeyPath])
            guard FileManager.default.createFile(atPath: temporary + ".pub", contents: Data(publicKey.utf8),
                                                 attributes: [.posixPermissions: 0o644]) else {
                throw VMCtlError("cannot write '\(temporary).pub'")
            }
            try linkIntoPlace(temporary + ".pub", publicKeyPath)
        }
        return try String(contentsOfFile: publicKeyPath, encoding: .utf8).trimmingSpaces
    }

    /// Gives `path` the file at `temporary` unless another process did first (then its file stays).
    private func linkIntoPlace(_ temporary: String, _ path: String) throws {
        guard link(temporary, path) == 0 || errno == EEXIST else {
            throw VMCtlError("cannot create '\(path)': \(String(cString: strerror(errno)))")
        }
    }
}

/// Guests' SSH host keys, pinned on first contact: one known_hosts file per VM, named by the VM's UUID, so
/// a VM deleted and created again under its name (a new UUID, new host keys) is a new host, not an attack.
public struct SSHHostKeys: Sendable {
    public let directory: String

    public init(directory: String = VMCtlPaths.stateDirectory + "/known_hosts") { self.directory = directory }

    public func file(ofVM uuid: String) -> String { directory + "/" + uuid }

    /// ssh options that check the guest's host key against the pinned one; on first contact ssh pins it.
    /// The alias keys the entry to the VM, not to its address, which DHCP may hand to another VM later.
    public func sshOptions(forVM uuid: String) throws -> [String] {
        guard UUID(uuidString: uuid) != nil else { throw VMCtlError("invalid VM UUID '\(ResourceName.printable(uuid))'") }
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = file(ofVM: uuid)
        var info = stat()
        let pinned = stat(path, &info) == 0 && info.st_size > 0
        return [
            "-o", "UserKnownHostsFile=\(path)", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "HostKeyAlias=vmctl-\(uuid)", "-o", "CheckHostIP=no", "-o", "UpdateHostKeys=no", "-o", "HashKnownHosts=no",
            "-o", "StrictHostKeyChecking=\(pinned ? "yes" : "accept-new")",
        ]
    }

    /// Forgets a deleted VM's host key.
    public func forget(vm uuid: String) throws {
        guard UUID(uuidString: uuid) != nil else { return }
        guard unlink(file(ofVM: uuid)) == 0 || errno == ENOENT else {
            throw VMCtlError("cannot remove the pinned host key \(file(ofVM: uuid)): \(String(cString: strerror(errno)))")
        }
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

import Foundation

/// vmctl's own SSH key pair, injected into every VM it creates so that `vmctl ssh` works at once.
public struct SSHKeyStore: Sendable {
    public let directory: String

    public init() { self.init(directory: VMCtlPaths.stateDirectory + "/ssh") }

    /// Elsewhere than vmctl's state: for tests, in a scratch directory.
    init(directory: String) { self.directory = directory }

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
                throw VMCtlError.failed("cannot write '\(temporary).pub'")
            }
            try linkIntoPlace(temporary + ".pub", publicKeyPath)
        }
        return try String(contentsOfFile: publicKeyPath, encoding: .utf8).trimmingSpaces
    }

    /// Gives `path` the file at `temporary` unless another process did first (then its file stays).
    private func linkIntoPlace(_ temporary: String, _ path: String) throws {
        guard link(temporary, path) == 0 || errno == EEXIST else {
            throw VMCtlError.system("cannot create '\(path)'")
        }
    }
}

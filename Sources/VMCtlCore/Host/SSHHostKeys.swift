import Foundation

/// Guests' SSH host keys, pinned on first contact: one known_hosts file per VM, named by the VM's UUID, so
/// a VM deleted and created again under its name (a new UUID, new host keys) is a new host, not an attack.
public struct SSHHostKeys: Sendable {
    public let directory: String

    public init() { self.init(directory: VMCtlPaths.stateDirectory + "/known_hosts") }

    /// Elsewhere than vmctl's state: for tests, in a scratch directory.
    init(directory: String) { self.directory = directory }

    public func file(ofVM uuid: String) -> String { directory + "/" + uuid }

    /// ssh options that check the guest's host key against the pinned one; on first contact ssh pins it.
    /// The alias keys the entry to the VM, not to its address, which DHCP may hand to another VM later.
    public func sshOptions(forVM uuid: String) throws -> [String] {
        guard UUID(uuidString: uuid) != nil else { throw VMCtlError.invalid("invalid VM UUID '\(ResourceName.printable(uuid))'") }
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
            throw VMCtlError.system("cannot remove the pinned host key \(file(ofVM: uuid))")
        }
    }
}

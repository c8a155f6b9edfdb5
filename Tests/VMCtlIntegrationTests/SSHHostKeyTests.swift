import Foundation
import Testing
import VMCtlCore

/// `vmctl ssh` pins a guest's host key on first contact and refuses a guest whose key changed.
@Suite(.serialized, .enabled(if: Harness.enabled, "set VMCTL_INTEGRATION=1 (make test does) to boot real guests"))
struct SSHHostKeyTests {
    @Test func theFirstHostKeyIsPinnedAndAChangedOneRefused() throws {
        let name = "vms-ssh"
        try Harness.removeIfPresent(name)
        defer { _ = try? Harness.vmctl("delete", name) }
        #expect(try Harness.vmctl("create", name, "--start").status == 0)
        let uuid = try Harness.virsh("domuuid", name).trimmed
        let pinned = VMCtlPaths.stateDirectory + "/known_hosts/" + uuid

        for _ in 0..<2 {
            let result = try Harness.vmctl("ssh", name, "--wait", "120", "--", "hostname")
            #expect(result.status == 0 && result.trimmed == name, "\(result)")
        }
        let entry = try String(contentsOfFile: pinned, encoding: .utf8)
        #expect(entry.hasPrefix("vmctl-\(uuid) "), "\(entry)")

        // Another key for the same VM: what a guest impersonated by someone else would show.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("vms-ssh-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        #expect(try Harness.run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", scratch]).status == 0)
        let otherKey = try String(contentsOfFile: scratch + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        try "vmctl-\(uuid) \(otherKey)\n".write(toFile: pinned, atomically: true, encoding: .utf8)
        let refused = try Harness.vmctl("ssh", name, "--", "hostname")
        #expect(refused.status != 0 && refused.stdout.isEmpty, "\(refused)")
        #expect(refused.stderr.contains("Host key verification failed") || refused.stderr.contains("HOST IDENTIFICATION HAS CHANGED"),
                "\(refused)")

        // Deleting the VM forgets its key: a new VM of that name is a new host.
        #expect(try Harness.vmctl("delete", name).status == 0)
        #expect(!FileManager.default.fileExists(atPath: pinned))
    }
}

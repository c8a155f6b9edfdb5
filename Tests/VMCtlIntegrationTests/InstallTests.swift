import Foundation
import Testing

/// What root runs unattended — the libvirt network hook and the firewall watcher — must not be writable by
/// anyone but root: a link into the checkout would hand root to whoever can write the checkout.
@Suite(.enabled(if: Harness.enabled, "set VMCTL_INTEGRATION=1"))
struct InstallTests {
    static let installed = "/usr/local/bin/vmctl"

    /// Each path from the file up to `/`: none may be writable by group or others, or owned by anyone but root.
    static func writableByOthers(_ path: String) throws -> [String] {
        var problems: [String] = []
        var current = path
        while true {
            let attributes = try FileManager.default.attributesOfItem(atPath: current)
            let owner = (attributes[.ownerAccountID] as? NSNumber)?.intValue
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
            // The sticky /tmp style is not acceptable either: the binary's directories belong to root alone.
            if owner != 0 { problems.append("\(current) is owned by uid \(owner.map(String.init) ?? "?")") }
            if mode & 0o022 != 0 { problems.append("\(current) has mode \(String(mode, radix: 8))") }
            if current == "/" { return problems }
            current = (current as NSString).deletingLastPathComponent
            if current.isEmpty { current = "/" }
        }
    }

    @Test func theHookAndWatcherRunARootOwnedCopyOutsideTheCheckout() throws {
        let target = URL(fileURLWithPath: Self.installed).resolvingSymlinksInPath().path
        let checkout = URL(fileURLWithPath: Harness.repositoryRoot).resolvingSymlinksInPath().path
        #expect(!target.hasPrefix(checkout + "/"), "\(Self.installed) resolves into the checkout: \(target)")
        #expect(try Self.writableByOthers(target) == [])
        // The link itself lives in a root-only directory too.
        #expect(try Self.writableByOthers("/usr/local/bin") == [])

        let hook = "/etc/libvirt/hooks/network"
        let hookText = try String(contentsOfFile: hook, encoding: .utf8)
        #expect(hookText.contains("exec \(Self.installed) net reconcile"))
        #expect(try Self.writableByOthers(hook) == [])

        let pidText = try String(contentsOfFile: "/run/vmctl/firewall-watch.pid", encoding: .utf8)
        let watcher = pidText.trimmingCharacters(in: .whitespacesAndNewlines)
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(watcher)/exe")
        #expect(executable == target, "the watcher runs \(executable), not the installed \(target)")
    }
}

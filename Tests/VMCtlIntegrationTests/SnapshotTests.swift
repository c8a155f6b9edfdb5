import Foundation
import Testing
import VMCtlCore

/// Snapshots of real tiny guests: with RAM while running, of the disks while stopped, trees, refusals.
@Suite(.serialized, .enabled(if: Harness.enabled, "set VMCTL_INTEGRATION=1 (make test does) to boot real guests"))
struct SnapshotTests {
    /// Runs a shell command in the guest and returns its trimmed output.
    private func guest(_ vm: String, _ command: String) throws -> String {
        let result = try Harness.vmctl("ssh", vm, "--", command)
        #expect(result.status == 0, "ssh \(command): \(result.stderr)")
        return result.trimmed
    }

    private func list(_ vm: String) throws -> [SnapshotInfo] {
        let result = try Harness.vmctl("snapshot", "list", vm, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        return try result.decode([SnapshotInfo].self)
    }

    private func expectRefused(_ result: Harness.Result, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status != 0, sourceLocation: sourceLocation)
        #expect(result.stderrLines.count == 1, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("Error: "), "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
    }

    @Test func runningVMRevertsToItsRAMAndDisks() throws {
        let vm = "snap-run"
        try Harness.removeIfPresent(vm)
        defer { _ = try? Harness.vmctl("delete", vm) }
        #expect(try Harness.vmctl("create", vm, "--memory", "256M", "--start").status == 0)
        #expect(try guest(vm, "echo one > /data/first && sync; cat /data/first") == "one")

        let created = try Harness.vmctl("snapshot", "create", vm, "s1", "--description", "it's \"first\" <only>", "--json")
        #expect(created.status == 0, "\(created.stderr)")
        let info = try created.decode(SnapshotInfo.self)
        #expect(info.kind == .internal)
        #expect(info.includesMemory)
        #expect(info.state == "running")
        #expect(info.disks == ["vda"])
        #expect(info.excludedDisks == ["vdb"])
        #expect(info.description == "it's \"first\" <only>")

        #expect(try guest(vm, "echo two > /data/second && sync; ls /data/second") == "/data/second")
        let reverted = try Harness.vmctl("snapshot", "revert", vm, "s1")
        #expect(reverted.status == 0, "\(reverted.stderr)")
        #expect(try Harness.virsh("domstate", vm).trimmed == "running")
        let ip = try Harness.vmctl("ip", vm, "--wait", "60")
        #expect(ip.status == 0, "\(ip.stderr)")
        #expect(try Harness.httpGet(ip.trimmed).stdout.contains(">\(vm)<"))
        #expect(try guest(vm, "cat /data/first; ls /data/second 2>&1 || echo gone").hasSuffix("gone"))
        #expect(try guest(vm, "cat /data/first") == "one")

        // A tree: s1 → s2 → s3, the newest current.
        let s2 = try Harness.vmctl("snapshot", "create", vm, "s2")
        #expect(s2.stdout.hasPrefix("created internal snapshot 's2' of \(vm) (RAM and disks: vda; left out: vdb)"),
                "\(s2.stdout) \(s2.stderr)")
        #expect(try Harness.vmctl("snapshot", "create", vm, "s3").status == 0)
        let snapshots = try list(vm)
        #expect(snapshots.map(\.name) == ["s1", "s2", "s3"])
        #expect(snapshots.map(\.parent) == [nil, "s1", "s2"])
        #expect(snapshots.map(\.current) == [false, false, true])
        let tree = try Harness.vmctl("snapshot", "list", vm, "--tree").stdout.split(separator: "\n")
        #expect(tree.count == 3)
        #expect(tree.first?.hasPrefix("s1  (internal") == true, "\(tree)")
        #expect(tree.dropFirst().first?.hasPrefix("  s2  (internal") == true, "\(tree)")
        #expect(tree.last?.hasPrefix("    s3  (internal") == true && tree.last?.hasSuffix("* current") == true, "\(tree)")

        // Mistakes: one line each, nothing changed.
        let before = try list(vm)
        expectRefused(try Harness.vmctl("snapshot", "create", vm, "s2"), "snapshot 's2' of VM '\(vm)' already exists")
        expectRefused(try Harness.vmctl("snapshot", "create", vm, "bad name"), "invalid snapshot name")
        expectRefused(try Harness.vmctl("snapshot", "create", vm, "semi;colon"), "invalid snapshot name")
        expectRefused(try Harness.vmctl("snapshot", "revert", vm, "nosuch"), "snapshot 'nosuch' of VM '\(vm)' not found")
        expectRefused(try Harness.vmctl("snapshot", "delete", vm, "nosuch"), "snapshot 'nosuch' of VM '\(vm)' not found")
        expectRefused(try Harness.vmctl("snapshot", "create", "snap-no-such-vm", "s1"), "VM 'snap-no-such-vm' not found")
        expectRefused(try Harness.vmctl("snapshot", "list", "snap-no-such-vm"), "VM 'snap-no-such-vm' not found")
        // Internal snapshots exist, so an external one (disk-only of a running VM) would make them undeletable.
        expectRefused(try Harness.vmctl("snapshot", "create", vm, "e0", "--disk-only"), "internal snapshots ('s1', 's2', 's3')")
        #expect(try list(vm) == before)
        #expect(try Harness.virsh("domstate", vm).trimmed == "running")

        // Delete with children: s2 and s3 go, s1 stays; then s1.
        let deleted = try Harness.vmctl("snapshot", "delete", vm, "s2", "--children")
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(try list(vm).map(\.name) == ["s1"])
        #expect(try Harness.vmctl("snapshot", "delete", vm, "s1").status == 0)
        #expect(try list(vm).isEmpty)

        // Disk-only of a running VM: external, said so; libvirt 9.0 cannot revert it; delete merges it back.
        let external = try Harness.vmctl("snapshot", "create", vm, "e1", "--disk-only")
        #expect(external.status == 0, "\(external.stderr)")
        #expect(external.stdout.hasPrefix("created external snapshot 'e1'"), "\(external.stdout)")
        #expect(external.stdout.contains("cannot revert external snapshots"), "\(external.stdout)")
        #expect(try Harness.volumes(of: vm).contains("vm-\(vm)-root.e1.qcow2"))
        let refused = try Harness.vmctl("snapshot", "revert", vm, "e1")
        expectRefused(refused, "libvirt 9.0")
        #expect(refused.stderr.contains("cannot revert external snapshots"))
        #expect(try Harness.virsh("domstate", vm).trimmed == "running")
        #expect(try Harness.vmctl("snapshot", "delete", vm, "e1").status == 0)
        #expect(try list(vm).isEmpty)
        #expect(try Harness.volumes(of: vm).sorted() == ["vm-\(vm)-root.qcow2", "vm-\(vm)-seed.iso"])
        #expect(try guest(vm, "cat /data/first") == "one")
    }

    @Test func stoppedVMRevertsToItsDisks() throws {
        let vm = "snap-off"
        try Harness.removeIfPresent(vm)
        defer { _ = try? Harness.vmctl("delete", vm) }
        #expect(try Harness.vmctl("create", vm, "--memory", "256M", "--start").status == 0)
        #expect(try guest(vm, "echo one > /data/first && sync; cat /data/first") == "one")
        #expect(try Harness.vmctl("stop", vm).status == 0)

        let created = try Harness.vmctl("snapshot", "create", vm, "off1", "--disk-only", "--json")
        #expect(created.status == 0, "\(created.stderr)")
        let info = try created.decode(SnapshotInfo.self)
        #expect(info.kind == .internal)
        #expect(!info.includesMemory)
        #expect(info.state == "shutoff")
        #expect(info.excludedDisks == ["vdb"])

        #expect(try Harness.vmctl("start", vm).status == 0)
        #expect(try guest(vm, "echo two > /data/second && sync; cat /data/second") == "two")
        #expect(try Harness.vmctl("stop", vm).status == 0)
        let reverted = try Harness.vmctl("snapshot", "revert", vm, "off1")
        #expect(reverted.status == 0, "\(reverted.stderr)")
        #expect(try Harness.virsh("domstate", vm).trimmed == "shut off")
        #expect(try Harness.vmctl("start", vm).status == 0)
        #expect(try guest(vm, "cat /data/first; ls /data/second 2>&1 || echo gone").hasSuffix("gone"))
        #expect(try guest(vm, "cat /data/first") == "one")
        #expect(try list(vm).map(\.current) == [true])
    }
}

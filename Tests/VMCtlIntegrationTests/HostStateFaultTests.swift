import Foundation
import Testing
import VMCtlCore

/// Faults that break vmctl's host-wide state on purpose — a VM whose metadata cannot be read blocks every
/// firewall change on the host, and the control state is edited and put back — so they run on their own
/// (`make test` runs them after the other suites), never beside tests that change the same state.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["VMCTL_HOST_FAULTS"] == "1",
                             "set VMCTL_HOST_FAULTS=1 (make test does, with nothing else running)"))
struct HostStateFaultTests {
    @Test func aVMWhoseMetadataCannotBeReadKeepsItsForwardsAndBlocksClashingChanges() throws {
        let broken = "fwc-bad", other = "fwc-ok"
        func removeAll() {
            _ = try? Harness.vmctl("delete", broken)
            _ = try? Harness.vmctl("delete", other)
        }
        removeAll()
        defer { removeAll() }
        #expect(try Harness.vmctl("create", broken).status == 0)
        #expect(try Harness.vmctl("create", other).status == 0)
        #expect(try Harness.vmctl("forward", "add", broken, "--host-port", "2299", "--guest-port", "22").status == 0)

        // Someone edits the definition and leaves a forward vmctl cannot read.
        let original = try Harness.virsh("dumpxml", broken, "--inactive").stdout
        let edited = original.replacingOccurrences(of: "proto='tcp'", with: "proto='sctp'")
            .replacingOccurrences(of: "proto=\"tcp\"", with: "proto=\"sctp\"")
        #expect(edited != original)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fwc-bad.xml").path
        func define(_ xml: String) throws {
            try xml.write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try Harness.virsh("define", file).status == 0)
        }
        try define(edited)

        FirewallCommitTests.expectRefused(try Harness.vmctl("forward", "add", other, "--host-port", "2299", "--guest-port", "22"), "'\(broken)'")
        FirewallCommitTests.expectRefused(try Harness.vmctl("secgroup", "attach", broken, "default"), "'\(broken)'")
        let reconciled = try FirewallCommitTests.reconciles()
        #expect(reconciled.stderr.contains("VM '\(broken)'"), "the warning names the VM: \(reconciled)")

        // Repaired, the VM still has its forward: nothing was written over it.
        try define(original)
        #expect(try Harness.vmctl("forward", "list", broken, "--json").decode([PortForward].self).map(\.hostPort) == [2299])
        // A VM in that state can still be deleted.
        try define(edited)
        let deleted = try Harness.vmctl("delete", broken)
        #expect(deleted.status == 0, "\(deleted)")
    }

    /// vmctl's control state lives in network `vmctl-control`; these tests put it back as it was.
    static func withControlStateRestored(_ body: () throws -> Void) throws {
        #expect(try Harness.vmctl("secgroup", "create", "fwc-keep").status == 0, "makes sure the control state exists")
        let saved = try Harness.virsh("net-dumpxml", ControlStore.networkName, "--inactive").stdout
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fwc-control.xml").path
        defer {
            try? saved.write(toFile: file, atomically: true, encoding: .utf8)
            _ = try? Harness.virsh("net-define", file)
            // It is never started (a vmctl that let `net start` through would have).
            let active = (try? Harness.virsh("net-list", "--name").stdout.split(separator: "\n").map(String.init)) ?? []
            if active.contains(ControlStore.networkName) {
                _ = try? Harness.virsh("net-destroy", ControlStore.networkName)
            }
            _ = try? Harness.vmctl("secgroup", "delete", "fwc-keep")
            _ = try? Harness.vmctl("secgroup", "delete", "fwc-new")
        }
        try body()
    }

    @Test func theControlStatesNetworkIsReserved() throws {
        try Self.withControlStateRestored {
            FirewallCommitTests.expectRefused(try Harness.vmctl("net", "delete", ControlStore.networkName), "reserved")
            FirewallCommitTests.expectRefused(try Harness.vmctl("net", "delete", ControlStore.networkName, "--force"), "reserved")
            FirewallCommitTests.expectRefused(try Harness.vmctl("net", "create", ControlStore.networkName, "--subnet", "10.202.0.0/24"), "reserved")
            FirewallCommitTests.expectRefused(try Harness.vmctl("net", "start", ControlStore.networkName), "reserved")
            #expect(try Harness.vmctl("secgroup", "list", "--json").decode([SecurityGroup].self).contains { $0.name == "fwc-keep" })
        }
    }

    @Test func anUnreadableControlStateIsAnErrorNeverAnEmptyStateThatIsSaved() throws {
        try Self.withControlStateRestored {
            // Someone edits the network and drops vmctl's metadata.
            let saved = try Harness.virsh("net-dumpxml", ControlStore.networkName, "--inactive").stdout
            guard let start = saved.range(of: "<metadata>"), let end = saved.range(of: "</metadata>") else {
                Issue.record("no metadata in \(saved)")
                return
            }
            let stripped = String(saved[..<start.lowerBound]) + String(saved[end.upperBound...])
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("fwc-stripped.xml").path
            try stripped.write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try Harness.virsh("net-define", file).status == 0)

            FirewallCommitTests.expectRefused(try Harness.vmctl("secgroup", "create", "fwc-new"), "holds no vmctl control state")
            #expect(try Harness.vmctl("secgroup", "list").status != 0, "a listing does not show an empty state either")
            #expect(try Harness.vmctl("net", "reconcile").status != 0, "nor does the firewall apply one")
            // The state is back once the metadata is: nothing was overwritten.
            try saved.write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try Harness.virsh("net-define", file).status == 0)
            let names = try Harness.vmctl("secgroup", "list", "--json").decode([SecurityGroup].self).map(\.name)
            #expect(names.contains("fwc-keep"))
            #expect(!names.contains("fwc-new"))
        }
    }
}

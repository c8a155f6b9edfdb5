import Foundation
import Testing
import VMCtlCore

/// Clones and resizes checked from inside real guests.
@Suite(.serialized, .enabled(if: Harness.enabled, "set VMCTL_INTEGRATION=1 (make test does) to boot real guests"))
struct CloneResizeTests {
    @Test func linkedAndFullClonesBootWithTheirOwnIdentityAndTheSourcesFiles() throws {
        let names = ["cl-src", "cl-linked", "cl-full"]
        for name in names.reversed() { try Harness.removeIfPresent(name) }
        defer { for name in names.reversed() { _ = try? Harness.vmctl("delete", name) } }

        #expect(try Harness.vmctl("create", "cl-src", "--start").status == 0)
        #expect(try Harness.vmctl("ssh", "cl-src", "--", "echo at-clone-time > /data/origin; sync").status == 0)
        let running = try Harness.vmctl("clone", "cl-src", "cl-linked")
        #expect(running.status != 0 && running.stderr.contains("vmctl stop cl-src") && running.stderr.contains("--snapshot"), "\(running.stderr)")
        #expect(try Harness.vmctl("stop", "cl-src").status == 0)

        let linked = try Harness.vmctl("clone", "cl-src", "cl-linked", "--start")
        #expect(linked.status == 0, "\(linked.stderr)")
        let full = try Harness.vmctl("clone", "cl-src", "cl-full", "--full", "--start")
        #expect(full.status == 0, "\(full.stderr)")

        var seen: [String: (mac: String?, address: String)] = [:]
        for name in ["cl-linked", "cl-full"] {
            let address = try Harness.vmctl("ip", name, "--wait", "90").trimmed
            #expect(try Harness.vmctl("ssh", name, "--", "hostname").trimmed == name)
            #expect(try Harness.vmctl("ssh", name, "--", "cat /data/origin").trimmed == "at-clone-time")
            #expect(try Harness.httpGet(address).stdout.contains(">\(name)<"))
            seen[name] = (try details(name).mac, address)
        }
        let source = try details("cl-src")
        let macs = [source.mac] + seen.values.map(\.mac)
        #expect(Set(macs.compactMap { $0 }).count == 3, "MACs \(macs)")
        #expect(seen["cl-linked"]?.address != seen["cl-full"]?.address)
        #expect(try Harness.virsh("domuuid", "cl-linked").trimmed != Harness.virsh("domuuid", "cl-src").trimmed)

        // The source's disk is the base of the linked clone: vmctl keeps it unchanged until the clone is flattened.
        let delete = try Harness.vmctl("delete", "cl-src")
        #expect(delete.status != 0 && delete.stderr.contains("vmctl clone --flatten cl-linked"), "\(delete.stderr)")
        #expect(try Harness.vmctl("start", "cl-src").status != 0)
        #expect(try Harness.domainExists("cl-src"))
        #expect(try Harness.vmctl("clone", "--flatten", "cl-linked").status == 0)
        #expect(try Harness.vmctl("delete", "cl-src").status == 0)
        #expect(try Harness.vmctl("ssh", "cl-linked", "--", "cat /data/origin").trimmed == "at-clone-time")
    }

    /// A running VM is cloned without stopping it, from a snapshot: the clone has what was on the disk then.
    @Test func aRunningVMIsClonedFromASnapshot() throws {
        let source = "cs-src", clone = "cs-clone"
        for name in [clone, source] { try Harness.removeIfPresent(name) }
        defer { for name in [clone, source] { _ = try? Harness.vmctl("delete", name) } }
        #expect(try Harness.vmctl("create", source, "--start").status == 0)
        #expect(try Harness.vmctl("ssh", source, "--", "echo then > /data/first; sync").status == 0)
        #expect(try Harness.vmctl("snapshot", "create", source, "point").status == 0)
        #expect(try Harness.vmctl("ssh", source, "--", "echo later > /data/second; sync").status == 0)
        let cloned = try Harness.vmctl("clone", source, clone, "--snapshot", "point", "--start")
        #expect(cloned.status == 0, "\(cloned.stderr)")
        #expect(try Harness.vmctl("ssh", clone, "--", "hostname; cat /data/first; ls /data/second 2>&1 || true").stdout
            .contains("\(clone)\nthen\n"))
        #expect(try !Harness.vmctl("ssh", clone, "--", "ls /data").stdout.contains("second"))
        #expect(try Harness.virsh("domstate", source).trimmed == "running")
    }

    @Test func liveResizeIsVisibleInsideTheGuestAndShrinkingChangesNothing() throws {
        let name = "rs-1"
        try Harness.removeIfPresent(name)
        defer { _ = try? Harness.vmctl("delete", name) }
        #expect(try Harness.vmctl("create", name, "--start", "--memory", "512M", "--disk", "2G").status == 0)
        #expect(try Harness.vmctl("ip", name, "--wait", "90").status == 0)
        let before = try guestSizes(name)

        let resized = try Harness.vmctl("resize", name, "--cpus", "2", "--memory", "1G", "--disk", "3G", "--json")
        #expect(resized.status == 0, "\(resized.stderr)")
        let changes = try resized.decode([ResizeChange].self)
        #expect(changes.map(\.effect) == [.live, .live, .live])

        // The guest onlines the new vCPU and the balloon gives memory back within a few seconds.
        var after = try guestSizes(name)
        for _ in 0..<50 where after.cpus != 2 || after.memoryKiB <= before.memoryKiB + 400_000 {
            Thread.sleep(forTimeInterval: 0.2)
            after = try guestSizes(name)
        }
        #expect(after.cpus == 2)
        #expect(after.memoryKiB > before.memoryKiB + 400_000, "MemTotal \(before.memoryKiB) -> \(after.memoryKiB)")
        #expect(after.diskSectors == 3 * 1024 * 1024 * 2)

        let shrink = try Harness.vmctl("resize", name, "--disk", "1G")
        #expect(shrink.status != 0 && shrink.stderr.contains("cannot shrink"), "\(shrink.stderr)")
        #expect(try guestSizes(name).diskSectors == 3 * 1024 * 1024 * 2)

        // Beyond the defined ceiling: the definition changes and --restart applies it.
        let beyond = try Harness.vmctl("resize", name, "--memory", "3G", "--restart", "--json")
        #expect(beyond.status == 0, "\(beyond.stderr)")
        #expect(try Harness.vmctl("ip", name, "--wait", "90").status == 0)
        #expect(try guestSizes(name).memoryKiB > 2_900_000)
    }

    private func details(_ name: String) throws -> VMDetails {
        try Harness.vmctl("info", name, "--json").decode(VMDetails.self)
    }

    private func guestSizes(_ name: String) throws -> (cpus: Int, memoryKiB: Int, diskSectors: Int) {
        let out = try Harness.vmctl("ssh", name, "--", "nproc; awk '/MemTotal/ {print $2}' /proc/meminfo; cat /sys/block/vda/size")
        let values = out.stdout.split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == 3 else { throw HarnessError("unexpected guest output: \(out.stdout) \(out.stderr)") }
        return (values[0], values[1], values[2])
    }
}

/// A full clone killed half way leaves volumes but no VM: the next vmctl commands name them and clean them up.
@Suite(.serialized, .enabled(if: Harness.enabled, "set VMCTL_INTEGRATION=1 (make test does) to boot real guests"))
struct InterruptedCloneTests {
    @Test func killedFullCloneIsReportedThenCleanedByTheNextRun() throws {
        let source = "kill-src", clone = "kill-new"
        for name in [clone, source] { try Harness.removeIfPresent(name) }
        defer { for name in [clone, source] { _ = try? Harness.vmctl("delete", name) } }
        #expect(try Harness.vmctl("create", source, "--start").status == 0)
        // Enough data that the daemon's copy takes a moment: the window in which vmctl is killed.
        #expect(try Harness.vmctl("ssh", source, "--", "yes vmctl | head -c 150000000 > /data/big; sync").status == 0)
        #expect(try Harness.vmctl("stop", source).status == 0)

        let process = try Harness.start([Harness.vmctlPath, "clone", source, clone, "--full"])
        var volumeSeen = false
        for _ in 0..<400 where !volumeSeen && process.isRunning {
            volumeSeen = try !Harness.volumes(of: clone).isEmpty
            if !volumeSeen { Thread.sleep(forTimeInterval: 0.01) }
        }
        process.signal(SIGKILL)
        process.wait()
        #expect(volumeSeen, "the clone's volume never appeared before vmctl finished")
        #expect(try !Harness.domainExists(clone))

        let list = try Harness.vmctl("list")
        #expect(list.stderr.contains("'\(clone)'"), "list did not report the leftover: \(list.stderr)")

        // Running the clone again finishes the job, once the daemon has finished the abandoned copy.
        var rerun = try Harness.vmctl("clone", source, clone, "--full")
        for _ in 0..<60 where rerun.status != 0 {
            Thread.sleep(forTimeInterval: 0.5)
            rerun = try Harness.vmctl("clone", source, clone, "--full")
        }
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(try Harness.volumes(of: clone).sorted() == ["vm-\(clone)-root.qcow2", "vm-\(clone)-seed.iso"])
        #expect(try !Harness.vmctl("list").stderr.contains("'\(clone)'"))
    }
}

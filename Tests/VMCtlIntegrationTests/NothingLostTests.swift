import Foundation
import Testing
import VMCtlCore

/// What belongs to one VM is only ever removed with that VM, what interrupted commands leave is reported
/// and cleaned up, and sizes are applied to the byte.
@Suite(.serialized, .enabled(if: Harness.enabled, "set VMCTL_INTEGRATION=1 (make test does) to use the real libvirtd"))
struct NothingLostTests {
    /// `delete web` with only `web-2` present: an error, and web-2 keeps every volume.
    @Test func deletingAVMNeverTouchesAnotherVMsVolumes() throws {
        let other = "vms-web-2", name = "vms-web"
        try Harness.removeIfPresent(other)
        try Self.removeVolumes(["vm-\(name)-root.qcow2", "vm-\(name)-seed.iso"])
        defer { _ = try? Harness.vmctl("delete", other) }
        let created = try Harness.vmctl("create", other)
        #expect(created.status == 0, "\(created)")
        let volumes = try Self.poolVolumes().filter { $0.contains(other) }.sorted()
        #expect(volumes == ["vm-\(other)-root.qcow2", "vm-\(other)-seed.iso"])

        let refused = try Harness.vmctl("delete", name)
        #expect(refused.status == 1 && refused.stdout.isEmpty, "\(refused)")
        #expect(refused.stderrLines == ["Error: VM '\(name)' not found"], "\(refused)")
        #expect(try Self.poolVolumes().filter { $0.contains(other) }.sorted() == volumes)
        #expect(try Harness.domainExists(other))

        // A leftover of `web` itself is web's: listed, then removed by `delete web`, and only it.
        let leftover = "vm-\(name)-seed.iso"
        #expect(try Harness.virsh("vol-create-as", "vmctl", leftover, "1M", "--format", "raw").status == 0)
        let listed = try Harness.vmctl("list")
        #expect(listed.stderr.contains("\(leftover) belong to no VM (an interrupted create or clone of '\(name)')"), "\(listed)")
        #expect(!listed.stderr.contains("'\(other)'"), "\(listed)")
        let deleted = try Harness.vmctl("delete", name)
        #expect(deleted.status == 0 && deleted.trimmed == "deleted \(name)", "\(deleted)")
        #expect(try !Self.poolVolumes().contains(leftover))
        #expect(try Self.poolVolumes().filter { $0.contains(other) }.sorted() == volumes)
    }

    /// Volumes of a create that is still running (it holds its creation lock) are nobody's leftovers.
    @Test func aCreateInProgressKeepsItsVolumes() throws {
        let name = "vms-busy"
        try Harness.removeIfPresent(name)
        let volume = "vm-\(name)-root.qcow2"
        try Self.removeVolumes([volume])
        defer { try? Self.removeVolumes([volume]) }
        #expect(try Harness.virsh("vol-create-as", "vmctl", volume, "1M", "--format", "qcow2").status == 0)
        // The lock a create of `name` holds while its volumes exist without a domain.
        _ = try Harness.run("mkdir", ["-p", "/run/vmctl"])
        // -o: sleep does not inherit the lock, which goes when flock is stopped.
        let holder = try Harness.start(["flock", "-o", "/run/vmctl/create-\(name).lock", "sleep", "60"])
        defer { Harness.stop(holder) }
        #expect(try Self.waitUntilLocked("/run/vmctl/create-\(name).lock"))

        let listed = try Harness.vmctl("list")
        #expect(listed.status == 0 && !listed.stderr.contains(volume), "\(listed)")
        let refused = try Harness.vmctl("delete", name)
        #expect(refused.status == 1 && refused.stderrLines.count == 1, "\(refused)")
        #expect(refused.stderr.contains("is being created or cloned by another vmctl process"), "\(refused)")
        #expect(try Self.poolVolumes().contains(volume))

        Harness.stop(holder)
        #expect(try Harness.vmctl("delete", name).status == 0)
        #expect(try !Self.poolVolumes().contains(volume))
    }

    /// What a killed export leaves (its temporary flattened copy) is listed and removed by the next export
    /// of that VM, or by deleting the VM; the archive is readable by its owner only.
    @Test func aKilledExportsCopyIsReportedAndRemoved() throws {
        let name = "vms-exp"
        try Harness.removeIfPresent(name)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vms-exp-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            _ = try? Harness.vmctl("delete", name)
        }
        #expect(try Harness.vmctl("create", name).status == 0)
        let killed = "export-\(name)-0badf00d.qcow2"
        #expect(try Harness.virsh("vol-create-as", "vmctl", killed, "16M", "--format", "qcow2").status == 0)

        let listed = try Harness.vmctl("list")
        #expect(listed.stderr.contains("\(killed) is left over from an interrupted export of '\(name)'"), "\(listed)")

        let archive = directory + "/\(name).vmctl"
        let exported = try Harness.vmctl("export", name, archive)
        #expect(exported.status == 0, "\(exported)")
        #expect(try !Self.poolVolumes().contains(killed))
        #expect(try Self.poolVolumes().filter { $0.hasPrefix("export-\(name)-") }.isEmpty)
        let mode = (try FileManager.default.attributesOfItem(atPath: archive)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600, "archive mode \(String(mode ?? -1, radix: 8))")

        #expect(try Harness.virsh("vol-create-as", "vmctl", killed, "16M", "--format", "qcow2").status == 0)
        #expect(try Harness.vmctl("delete", name).status == 0)
        #expect(try !Self.poolVolumes().contains(killed))
    }

    /// A 2.04G disk resized to 2.049G grows to 2.049G (libvirt rounds qcow2 up to 512 bytes), not to a
    /// rounded 2.0G that is smaller than it is.
    @Test func aDiskGrowsToTheExactSizeAsked() throws {
        let name = "vms-rsz"
        try Harness.removeIfPresent(name)
        defer { _ = try? Harness.vmctl("delete", name) }
        #expect(try Harness.vmctl("create", name, "--disk", "2.04G").status == 0)
        let before = try Self.capacity(of: "vm-\(name)-root.qcow2")
        #expect(before >= 2_190_433_321, "\(before)")

        let resized = try Harness.vmctl("resize", name, "--disk", "2.049G")
        #expect(resized.status == 0, "\(resized)")
        let after = try Self.capacity(of: "vm-\(name)-root.qcow2")
        #expect(after >= 2_200_096_997 && after < 2_200_096_997 + 512, "\(after)")

        let shrink = try Harness.vmctl("resize", name, "--disk", "2.04G")
        #expect(shrink.status == 1 && shrink.stderrLines.count == 1 && shrink.stderr.contains("cannot shrink the disk"), "\(shrink)")
        #expect(try Self.capacity(of: "vm-\(name)-root.qcow2") == after)
    }

    // MARK: Helpers

    static func poolVolumes() throws -> [String] {
        let result = try Harness.virsh("vol-list", "vmctl")
        guard result.status == 0 else { throw HarnessError("virsh vol-list failed: \(result.stderr)") }
        return result.stdout.split(separator: "\n").dropFirst(2)
            .compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    static func removeVolumes(_ names: [String]) throws {
        for name in names where try poolVolumes().contains(name) { _ = try Harness.virsh("vol-delete", name, "--pool", "vmctl") }
    }

    static func capacity(of volume: String) throws -> UInt64 {
        let info = try Harness.virsh("vol-info", volume, "--pool", "vmctl", "--bytes")
        let line = info.stdout.split(separator: "\n").first { $0.hasPrefix("Capacity:") }
        guard let value = line?.split(separator: " ").dropFirst().first.flatMap({ UInt64($0) }) else {
            throw HarnessError("no capacity for \(volume): \(info)")
        }
        return value
    }

    /// Until `flock` in the background has the lock (a non-blocking attempt fails).
    static func waitUntilLocked(_ path: String) throws -> Bool {
        for _ in 0..<100 {
            if try Harness.run("flock", ["-n", path, "true"]).status != 0 { return true }
            usleep(50_000)
        }
        return false
    }
}

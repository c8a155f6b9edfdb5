import Foundation
import Testing
import VMCtlCore

/// Images made from VMs, and VMs moved through export archives, on real QEMU guests: the guest's files
/// travel, its identity does not, and a damaged archive leaves nothing behind.
@Suite(.serialized, .enabled(if: Harness.enabled, "set VMCTL_INTEGRATION=1 (make test does) to boot real guests"))
struct ExportTests {
    static let marker = "kept-through-export"

    @Test func imageFromVMAndExportImportCarryTheGuestsFiles() throws {
        let source = "exp-src", image = "exp-img", fromImage = "exp-from"
        let directory = try Self.scratchDirectory()
        try Self.removeLeftovers(vms: [fromImage, source], images: [image])
        defer {
            _ = try? Self.removeLeftovers(vms: [fromImage, source], images: [image])
            try? FileManager.default.removeItem(atPath: directory)
        }
        let archive = directory + "/exp-src.vmctl"

        #expect(try Harness.vmctl("create", source, "--start").status == 0)
        #expect(try Harness.vmctl("ip", source, "--wait", "60").status == 0)
        let write = try Harness.vmctl("ssh", source, "--", "echo \(Self.marker) > /data/keep && sync")
        #expect(write.status == 0, "\(write.stderr)")

        // A running guest's disk is still changing: both copies are refused, naming the way out.
        let runningImage = try Harness.vmctl("image", "create", "--from", source, image)
        try Self.expectRefused(runningImage, "vmctl stop \(source)")
        try Self.expectRefused(try Harness.vmctl("export", source, archive), "vmctl stop \(source)")
        #expect(!FileManager.default.fileExists(atPath: archive))
        #expect(!FileManager.default.fileExists(atPath: archive + ".part"))
        #expect(try !Self.imageExists(image))

        #expect(try Harness.vmctl("stop", source, "--timeout", "60").status == 0)
        let original = try Self.details(source)
        let originalSummary = try Self.summary(source)

        // image create --from: a standalone image; a new VM on it sees the files under its own name.
        let created = try Harness.vmctl("image", "create", "--from", source, image, "--json")
        #expect(created.status == 0, "\(created.stderr)")
        let info = try created.decode(ImageInfo.self)
        #expect(info.name == image && info.format == "qcow2")
        let volume = try Harness.virsh("vol-dumpxml", "--pool", "vmctl", info.volume).stdout
        #expect(!volume.contains("<backingStore>"), "the image must not be an overlay: \(volume)")
        #expect(try Harness.vmctl("create", fromImage, "--image", image, "--start").status == 0)
        #expect(try Harness.vmctl("ssh", fromImage, "--", "cat /data/keep").trimmed == Self.marker)
        #expect(try Harness.vmctl("ssh", fromImage, "--", "hostname").trimmed == fromImage)

        // export → delete → import: the same VM comes back with its files and a new identity.
        let exported = try Harness.vmctl("export", source, archive, "--json")
        #expect(exported.status == 0, "\(exported.stderr)")
        let result = try exported.decode(ExportResult.self)
        let attributes = try FileManager.default.attributesOfItem(atPath: archive)
        #expect((attributes[.size] as? NSNumber)?.uint64Value == result.bytes)
        let leftovers = try Self.exportVolumes()
        #expect(leftovers.isEmpty, "temporary volumes left: \(leftovers)")
        #expect(try Self.members(of: archive) == ["vmctl.json", "disk-root.qcow2", "SHA256SUMS"])

        #expect(try Harness.vmctl("delete", source).status == 0)
        let imported = try Harness.vmctl("import", archive, "--start")
        #expect(imported.status == 0, "\(imported.stderr)")
        let ip = try Harness.vmctl("ip", source, "--wait", "60")
        #expect(ip.status == 0, "\(ip.stderr)")
        #expect(try Harness.httpGet(ip.trimmed).stdout.contains(">\(source)<"))
        #expect(try Harness.vmctl("ssh", source, "--", "cat /data/keep").trimmed == Self.marker)
        #expect(try Harness.vmctl("ssh", source, "--", "hostname").trimmed == source)

        let again = try Self.details(source)
        // Sizes from the persistent definition (`info` of a booting guest shows the balloon settling).
        let againSummary = try Self.summary(source)
        #expect(againSummary.cpus == originalSummary.cpus && againSummary.memory == originalSummary.memory)
        #expect(againSummary.image == originalSummary.image)
        #expect(again.instanceID != original.instanceID)
        #expect(again.mac != original.mac)
        #expect(again.uuid != original.uuid)

        // The name is taken now: refused before anything is made.
        try Self.expectRefused(try Harness.vmctl("import", archive), "VM '\(source)' already exists")
    }

    @Test func damagedArchivesAreRefusedAndLeaveNothingBehind() throws {
        let source = "exp-cor", target = "exp-cor2"
        let directory = try Self.scratchDirectory()
        try Self.removeLeftovers(vms: [source, target], images: [])
        defer {
            _ = try? Self.removeLeftovers(vms: [source, target], images: [])
            try? FileManager.default.removeItem(atPath: directory)
        }
        let archive = directory + "/good.vmctl"
        #expect(try Harness.vmctl("create", source).status == 0)
        let exported = try Harness.vmctl("export", source, archive)
        #expect(exported.status == 0, "\(exported.stderr)")

        // One flipped bit in the middle of the disk member.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: archive)))
        let manifestSize = try #require(try TarHeader.decode(Array(bytes[0..<512]))).size
        let diskHeader = 512 + Int((manifestSize + 511) / 512 * 512)
        let disk = try #require(try TarHeader.decode(Array(bytes[diskHeader..<diskHeader + 512])))
        #expect(disk.name == "disk-root.qcow2")
        bytes[diskHeader + 512 + Int(disk.size / 2)] ^= 0x01
        let corrupted = directory + "/corrupted.vmctl"
        try Data(bytes).write(to: URL(fileURLWithPath: corrupted))
        let truncated = directory + "/truncated.vmctl"
        try Data(bytes.prefix(diskHeader + 512 + Int(disk.size / 2))).write(to: URL(fileURLWithPath: truncated))

        for (file, message) in [(corrupted, "checksum mismatch for 'disk-root.qcow2'"),
                                (truncated, "truncated archive: it ends inside 'disk-root.qcow2'")] {
            let result = try Harness.vmctl("import", file, "--name", target, "--start")
            #expect(result.status != 0)
            let errors = result.stderrLines.filter { $0.hasPrefix("Error:") }
            #expect(errors.count == 1 && errors[0].contains(message), "stderr: \(result.stderr)")
            #expect(result.stdout.isEmpty)
            #expect(try !Harness.domainExists(target))
            #expect(try Harness.volumes(of: target).isEmpty)
        }
        #expect(try Self.exportVolumes().isEmpty)
        // The intact archive still imports under the other name.
        let imported = try Harness.vmctl("import", archive, "--name", target)
        #expect(imported.status == 0, "\(imported.stderr)")
    }

    // MARK: Helpers

    static func scratchDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vmctl-export-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func removeLeftovers(vms: [String], images: [String]) throws {
        for vm in vms { try Harness.removeIfPresent(vm) }
        for image in images where try imageExists(image) { _ = try Harness.vmctl("image", "delete", image) }
    }

    static func imageExists(_ name: String) throws -> Bool {
        let images = try Harness.vmctl("image", "list", "--json").decode([ImageInfo].self)
        return images.contains { $0.name == name }
    }

    static func summary(_ name: String) throws -> VMSummary {
        let all = try Harness.vmctl("list", "--json").decode([VMSummary].self)
        guard let summary = all.first(where: { $0.name == name }) else { throw HarnessError("VM '\(name)' not listed") }
        return summary
    }

    static func details(_ name: String) throws -> VMDetails {
        try Harness.vmctl("info", name, "--json").decode(VMDetails.self)
    }

    /// Temporary flattened volumes of exports of this suite's VMs.
    static func exportVolumes() throws -> [String] {
        try Harness.virsh("vol-list", "vmctl").stdout.split(separator: "\n")
            .compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0.hasPrefix("export-exp-") }
    }

    /// Member names as the system's tar lists them: the archive is an ordinary tar file.
    static func members(of archive: String) throws -> [String] {
        try Harness.run("tar", ["-tf", archive]).stdout.split(separator: "\n").map(String.init)
    }

    static func expectRefused(_ result: Harness.Result, _ message: String) throws {
        #expect(result.status != 0)
        #expect(result.stderrLines.count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
        #expect(result.stdout.isEmpty)
    }
}

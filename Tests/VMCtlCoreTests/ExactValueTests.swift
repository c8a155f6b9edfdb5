import Foundation
import Testing
@testable import VMCtlCore

/// Sizes, durations and counts from users and files: exact, bounded, and refused in one error instead of
/// a trap.
@Suite struct ExactValueTests {
    @Test func sizesParseToTheExactByte() throws {
        // 2.049 × 2^30 = 2200096997.376: the nearest byte, not a neighbouring binary fraction.
        #expect(try ByteSize(parsing: "2.049G").bytes == 2_200_096_997)
        #expect(try ByteSize(parsing: "1.5GiB").bytes == 3 << 29)
        #expect(try ByteSize(parsing: "512").bytes == 512 << 20)
        #expect(try ByteSize(parsing: " 0.5k ").bytes == 512)
        #expect(try ByteSize(parsing: "1024T") == ByteSize.largest)
        for text in ["", "-1G", "1e3M", "inf", "nan", ".", "1..2G", "2G2", "1025T", "99999999999999999999", "0x10M", "٣G"] {
            #expect(throws: VMCtlError.self, "\(text)") { try ByteSize(parsing: text) }
        }
    }

    @Test func everySizeHasADescriptionAndAnExactOne() throws {
        #expect(ByteSize(bytes: .max).description == "16777216.0T")
        #expect(ByteSize(bytes: 2_200_096_997).description == "2.0G")
        #expect(ByteSize(bytes: 2_200_096_997).exactDescription == "2.0G (2200096997 bytes)")
        #expect(ByteSize.gibibytes(2).exactDescription == "2G")
        #expect(ByteSize(bytes: (2 << 30) - 1).description == "2.0G")
    }

    @Test func sizesInFilesAreExactAndBounded() throws {
        struct Holder: Codable, Equatable { var size: ByteSize }
        for size in [ByteSize(bytes: 2_200_096_997), .gibibytes(3), ByteSize(bytes: 100)] {
            let json = try JSONEncoder().encode(Holder(size: size))
            #expect(try JSONDecoder().decode(Holder.self, from: json) == Holder(size: size), "\(String(decoding: json, as: UTF8.self))")
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Holder.self, from: Data(#"{"size": 18446744073709551615}"#.utf8))
        }
    }

    @Test func aManifestWithAnImpossibleMemoryIsRefused() throws {
        var manifest = String(decoding: try ExportManifest.sample().encoded(), as: UTF8.self)
        manifest = manifest.replacingOccurrences(of: #""memory" : "512M""#, with: #""memory" : 18446744073709551615"#)
        #expect(manifest.contains("18446744073709551615"))
        let error = #expect(throws: VMCtlError.self) { try ExportManifest.decode(Array(manifest.utf8)) }
        #expect(error?.description == "invalid vmctl.json: not the JSON vmctl writes (bad value at 'vm.memory': size 18446744073709551615 is more than 1024T)",
                "\(String(describing: error))")
    }

    @Test func aDiskResizeAppliesTheExactSizeAsked() throws {
        let state = ResizeState(isRunning: false, cpus: 1, maxCPUs: 4, memory: .mebibytes(512), maxMemory: .gibibytes(1),
                                disk: try ByteSize(parsing: "2.04G"))
        let changes = try ResizePlan.plan(ResizeRequest(disk: try ByteSize(parsing: "2.049G")), state: state)
        #expect(changes.count == 1)
        #expect(changes.first?.value == 2_200_096_997)
        #expect(changes.first?.to == "2.0G (2200096997 bytes)")
        let error = #expect(throws: VMCtlError.self) {
            try ResizePlan.plan(ResizeRequest(disk: try ByteSize(parsing: "2.039G")), state: state)
        }
        #expect(error?.description.contains("cannot shrink the disk") == true)
    }

    @Test func secondsAreFiniteAndBounded() throws {
        #expect(try Seconds(parsing: "90").milliseconds == 90_000)
        #expect(try Seconds(parsing: "0.25").duration == .milliseconds(250))
        #expect(try Seconds(parsing: "0") == 0)
        #expect(try Seconds(parsing: "31622400") == Seconds.longest)
        for text in ["inf", "nan", "-1", "1e3", "0x10", "", "31622401", "infinity", "1_000"] {
            #expect(throws: VMCtlError.self, "\(text)") { try Seconds(parsing: text) }
        }
        #expect(throws: VMCtlError.self) { try Seconds(.infinity) }
        #expect(throws: VMCtlError.self) { try Seconds(.nan) }
        let negative = -0.5  // a variable: Seconds(-0.5) would be a literal, which is for constants
        #expect(throws: VMCtlError.self) { try Seconds(negative) }
    }

    /// Measured durations become whole milliseconds the same way everywhere: rounded down, never negative,
    /// never past the longest, and every conversion (poll, socket timeouts, sleeps) is made from them.
    @Test func measuredDurationsAreWholeMillisecondsInRange() throws {
        #expect(Seconds(.milliseconds(1999) + .microseconds(999)).milliseconds == 1999)
        #expect(Seconds(.seconds(-3)).milliseconds == 0)
        #expect(Seconds(.seconds(Int64.max)) == Seconds.longest)
        #expect(Seconds(.seconds(Int64.min)).milliseconds == 0)
        let twoAndAHalf: Seconds = 2.5
        #expect(twoAndAHalf.pollMilliseconds == 2500)
        #expect(twoAndAHalf.timeval.tv_sec == 2 && twoAndAHalf.timeval.tv_usec == 500_000)
        #expect(Seconds.longest.pollMilliseconds == Int32.max)
        let clock = ContinuousClock()
        let started = clock.now
        (0.02 as Seconds).sleep()
        #expect(clock.now - started >= .milliseconds(20))
    }

    @Test func countsAreNotNegativeAndLeaveRoom() throws {
        #expect(try Count(20, of: "lines").value == 20)
        #expect(try Count(0, of: "lines").value == 0)
        #expect(throws: VMCtlError.self) { try Count(-2, of: "lines") }
        #expect(throws: VMCtlError.self) { try Count(.max, of: "lines") }
    }
}

/// Volume names are parsed against the known roles: a VM owns exactly its own volumes.
@Suite struct VolumeOwnershipTests {
    @Test func aVolumeBelongsToExactlyOneVM() {
        #expect(VMCtlNames.owner(ofVolume: "vm-web-2-root.qcow2") == "web-2")
        #expect(VMCtlNames.owner(ofVolume: "vm-web-2-seed.iso") == "web-2")
        #expect(VMCtlNames.owner(ofVolume: "vm-web-root.qcow2") == "web")
        #expect(VMCtlNames.owner(ofVolume: "vm-web-root.e1.qcow2") == nil)
        #expect(VMCtlNames.owner(ofVolume: "vm--root.qcow2") == nil)
        #expect(VMCtlNames.owner(ofVolume: "image-tiny.qcow2") == nil)
    }

    @Test func anExportsTemporaryVolumeNamesItsVM() {
        let volume = VMCtlNames.exportVolume(of: "web-2")
        #expect(volume.hasPrefix("export-web-2-") && volume.hasSuffix(".qcow2") && volume.count == "export-web-2-01234567.qcow2".count)
        #expect(VMCtlNames.owner(ofExportVolume: volume) == "web-2")
        #expect(VMCtlNames.owner(ofExportVolume: "export-web-2-1f.qcow2") == "web-2")
        #expect(VMCtlNames.owner(ofExportVolume: "export-web-0badf00d.qcow2") == "web")
        #expect(VMCtlNames.owner(ofExportVolume: "export-web-2-xyz.qcow2") == nil)
        #expect(VMCtlNames.owner(ofExportVolume: "export-web-123456789.qcow2") == nil)
        #expect(VMCtlNames.owner(ofExportVolume: "export-0badf00d.qcow2") == nil)
    }
}

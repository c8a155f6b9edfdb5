import Foundation
import Testing
@testable import VMCtlCore

@Suite struct ByteSizeTests {
    @Test(arguments: [("512M", 512 << 20), ("2G", 2 << 30), ("1.5G", 3 << 29), ("512", 512 << 20),
                      ("64MiB", 64 << 20), ("1024k", 1 << 20), (" 3g ", 3 << 30), ("0", 0)])
    func parsesWhatUsersWrite(text: String, bytes: Int) throws {
        #expect(try ByteSize(parsing: text).bytes == UInt64(bytes))
    }

    @Test(arguments: ["abc", "", "-1", "12X", "1..5G", "G", "1e99G", "5 M B"])
    func rejectsNonsenseWithTheValueInTheMessage(text: String) {
        let error = #expect(throws: VMCtlError.self) { try ByteSize(parsing: text) }
        #expect(error?.description.contains("invalid size") == true)
    }

    @Test func printsTheLargestExactUnit() throws {
        #expect(ByteSize.gibibytes(2).description == "2G")
        #expect(ByteSize.mebibytes(1536).description == "1536M")
        #expect(ByteSize(bytes: 1_500_000).description == "1.4M")
    }
}

@Suite struct SpecTests {
    @Test(arguments: ["t1", "web-1", "A", String(repeating: "a", count: 63)])
    func acceptsHostnameSafeNames(name: String) throws {
        try ResourceName.validate(name, kind: "VM")
    }

    @Test(arguments: ["", "-a", "a-", "a b", "a;rm -rf /", "$(id)", "a'b", "a\"b", "a<b>", "a.b", "a_b",
                      "é", "a\nb", String(repeating: "a", count: 64)])
    func rejectsNamesThatAreNotSafeEverywhere(name: String) {
        let error = #expect(throws: VMCtlError.self) { try ResourceName.validate(name, kind: "VM") }
        #expect(error?.description.hasPrefix("invalid VM name") == true)
        #expect(error?.description.contains("\n") == false)
    }

    @Test func flavorsMatchTheLabsTable() throws {
        let tiny = try Flavor.named("tiny")
        #expect((tiny.cpus, tiny.memory, tiny.disk) == (1, .mebibytes(512), .gibibytes(10)))
        let xlarge = try Flavor.named("xlarge")
        #expect((xlarge.cpus, xlarge.memory, xlarge.disk) == (4, .gibibytes(8), .gibibytes(40)))
        let error = #expect(throws: VMCtlError.self) { try Flavor.named("huge") }
        #expect(error?.description.contains("nano") == true)
    }

    @Test func explicitSizesOverrideTheFlavor() throws {
        let spec = try VMSpec(name: "a", flavor: "medium", memory: .mebibytes(768))
        #expect(spec.cpus == 2)
        #expect(spec.memory == .mebibytes(768))
        #expect(spec.disk == .gibibytes(40))
        try spec.validate()
    }

    @Test func definesHeadroomForLiveResizes() throws {
        let spec = try VMSpec(name: "a", cpus: 1, memory: .mebibytes(512))
        #expect(spec.maximumCPUs == 4)
        #expect(spec.maximumMemory == .gibibytes(1))
        let big = try VMSpec(name: "b", cpus: 8, memory: .gibibytes(8))
        #expect(big.maximumCPUs == 16)
        #expect(big.maximumMemory == .gibibytes(12))
    }

    @Test func validationNamesTheBadField() throws {
        #expect(throws: VMCtlError.invalid("invalid cpus 0: use 1 to 64")) { try VMSpec(name: "a", cpus: 0).validate() }
        #expect(throws: VMCtlError.invalid("invalid memory 1M: use 64M to 16T")) {
            try VMSpec(name: "a", memory: .mebibytes(1)).validate()
        }
        #expect(throws: VMCtlError.self) { try VMSpec(name: "a", sshAuthorizedKeys: ["not a key"]).validate() }
        #expect(throws: VMCtlError.self) { try VMSpec(name: "a", network: "bad net").validate() }
    }

    @Test func specsRoundTripAsJSONWithTheirVersion() throws {
        let spec = try VMSpec(name: "a", flavor: "tiny", sshAuthorizedKeys: ["ssh-ed25519 AAAAC3Nza c"], runCommands: ["echo hi"])
        let data = try JSONEncoder().encode(spec)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"version\":1"))
        #expect(text.contains("\"memory\":\"512M\""))
        #expect(try JSONDecoder().decode(VMSpec.self, from: data) == spec)
    }

    @Test func localURIsAreTheOnesWithoutAHost() throws {
        #expect(try LibvirtURI("qemu:///system").isLocal)
        #expect(try LibvirtURI("qemu+unix:///system?mode=legacy").isLocal)
        #expect(try !LibvirtURI("qemu+ssh://lab1/system").isLocal)
        #expect(try !LibvirtURI("qemu+tcp://10.0.0.1/system").isLocal)
    }
}

@Suite struct AcceleratorTests {
    static let vmxFlags = "processor : 0\nflags\t\t: fpu vme vmx sse\n"
    static let plainFlags = "processor : 0\nflags\t\t: fpu vme hypervisor sse\n"

    @Test func pvmDeviceOnACPUWithoutVTxIsNotUsable() {
        let status = KVMStatus.probeLocalHost(cpuinfo: Self.plainFlags, fileExists: { _ in true }, isReadWritable: { _ in true })
        #expect(!status.isUsable)
        #expect(status.reason.contains("PVM"))
    }

    @Test func missingDeviceAndPermissionAreReported() {
        let missing = KVMStatus.probeLocalHost(cpuinfo: Self.vmxFlags, fileExists: { _ in false })
        #expect(!missing.isUsable && missing.reason.contains("missing"))
        let denied = KVMStatus.probeLocalHost(
            cpuinfo: Self.vmxFlags, fileExists: { $0 == "/dev/kvm" }, isReadWritable: { _ in false })
        #expect(!denied.isUsable && denied.reason.contains("permission"))
        let noFlags = KVMStatus.probeLocalHost(cpuinfo: Self.plainFlags, fileExists: { $0 == "/dev/kvm" })
        #expect(!noFlags.isUsable && noFlags.reason.contains("VT-x"))
    }

    @Test func autoFallsBackToTCGWithANoticeAndKVMRefuses() throws {
        let unusable = KVMStatus(isUsable: false, reason: "no vmx")
        let auto = try AcceleratorChoice.choose(.auto, kvm: unusable)
        #expect(auto.domainType == "qemu")
        #expect(auto.notice?.contains("TCG") == true)
        #expect(throws: VMCtlError.self) { try AcceleratorChoice.choose(.kvm, kvm: unusable) }
        let usable = KVMStatus(isUsable: true, reason: "ok")
        #expect(try AcceleratorChoice.choose(.auto, kvm: usable) == AcceleratorChoice(domainType: "kvm", notice: nil))
        #expect(try AcceleratorChoice.choose(.tcg, kvm: usable).domainType == "qemu")
    }
}

@Suite struct ImageFileTests {
    static func qcow2Header(size: UInt64, backingOffset: UInt64 = 0) -> [UInt8] {
        var header: [UInt8] = [0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]
        header += (0..<8).map { UInt8((backingOffset >> (56 - 8 * UInt64($0))) & 0xff) }
        header += [UInt8](repeating: 0, count: 8)
        header += (0..<8).map { UInt8((size >> (56 - 8 * UInt64($0))) & 0xff) }
        return header + [UInt8](repeating: 0, count: 480)
    }

    @Test func readsTheVirtualSizeOfQcow2() throws {
        let file = try ImageFile.inspect(header: Self.qcow2Header(size: 2 << 30), fileSize: 1000, path: "x")
        #expect(file.format == .qcow2)
        #expect(file.virtualSize == 2 << 30)
    }

    @Test func anythingElseIsRawUnlessItIsAnotherKnownFormat() throws {
        let raw = try ImageFile.inspect(header: [UInt8](repeating: 0, count: 512), fileSize: 4096, path: "x")
        #expect(raw.format == .raw && raw.virtualSize == 4096)
        let vmdk = Array("KDMV".utf8) + [UInt8](repeating: 0, count: 508)
        #expect(throws: VMCtlError.self) { try ImageFile.inspect(header: vmdk, fileSize: 4096, path: "x.vmdk") }
        #expect(throws: VMCtlError.self) {
            try ImageFile.inspect(header: Self.qcow2Header(size: 1 << 30, backingOffset: 512), fileSize: 4096, path: "x")
        }
    }
}

@Suite struct NetworkSpecTests {
    /// Ranges the kernel treats specially are never a guest network: one line names the range.
    @Test(arguments: [("127.0.0.0/8", "loopback (127.0.0.0/8)"), ("127.5.0.0/24", "loopback (127.0.0.0/8)"),
                      ("0.0.0.0/8", "\"this host\" (0.0.0.0/8)"), ("169.254.0.0/16", "link-local (169.254.0.0/16)"),
                      ("169.254.10.0/24", "link-local (169.254.0.0/16)"), ("224.0.0.0/8", "multicast (224.0.0.0/4)"),
                      ("239.1.0.0/16", "multicast (224.0.0.0/4)"), ("240.0.0.0/8", "reserved (240.0.0.0/4, with 255.255.255.255)"),
                      ("255.255.255.0/24", "reserved (240.0.0.0/4, with 255.255.255.255)")])
    func specialRangesAreRefused(subnet: String, range: String) {
        let error = #expect(throws: VMCtlError.self) { try NetworkSpec(name: "lab", subnet: subnet) }
        #expect(error?.description == "invalid subnet '\(subnet)': it lies in the \(range) range; use a private range such as 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
        #expect(error?.description.contains("\n") == false)
    }

    @Test(arguments: ["10.0.0.0/8", "172.16.0.0/12", "192.168.1.0/24", "100.64.0.0/10", "198.51.100.0/24", "223.255.255.0/24", "1.0.0.0/8"])
    func ordinaryRangesAreAccepted(subnet: String) throws {
        #expect(try NetworkSpec(name: "lab", subnet: subnet).subnet.description == subnet)
    }
}

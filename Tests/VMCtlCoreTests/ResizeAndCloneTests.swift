import LibvirtXML
import Testing
@testable import VMCtlCore

@Suite struct ResizePlanTests {
    let running = ResizeState(isRunning: true, cpus: 1, maxCPUs: 4, memory: .mebibytes(512), maxMemory: .gibibytes(1), disk: .gibibytes(2))

    @Test func withinTheCeilingsChangesAreLive() throws {
        let changes = try ResizePlan.plan(ResizeRequest(cpus: 2, memory: .gibibytes(1), disk: .gibibytes(4)), state: running)
        #expect(changes.map(\.resource) == ["cpus", "memory", "disk"])
        #expect(changes.allSatisfy { $0.effect == .live })
        #expect(changes[1].from == "512M" && changes[1].to == "1G")
    }

    @Test func beyondTheCeilingsARestartIsNeeded() throws {
        let changes = try ResizePlan.plan(ResizeRequest(cpus: 8, memory: .gibibytes(2)), state: running)
        #expect(changes.map(\.effect) == [.restartNeeded, .restartNeeded])
    }

    @Test func aStoppedVMChangesOffline() throws {
        var stopped = running
        stopped.isRunning = false
        let changes = try ResizePlan.plan(ResizeRequest(cpus: 8, disk: .gibibytes(3)), state: stopped)
        #expect(changes.map(\.effect) == [.offline, .offline])
    }

    @Test func shrinkingTheDiskIsRefusedAndSameSizesAreNoChange() throws {
        let error = #expect(throws: VMCtlError.self) { try ResizePlan.plan(ResizeRequest(disk: .gibibytes(1)), state: running) }
        #expect(error?.description.contains("cannot shrink the disk from 2G to 1G") == true)
        #expect(try ResizePlan.plan(ResizeRequest(cpus: 1, memory: .mebibytes(512)), state: running).isEmpty)
        #expect(throws: VMCtlError.self) { try ResizePlan.plan(ResizeRequest(), state: running) }
        #expect(throws: VMCtlError.self) { try ResizePlan.plan(ResizeRequest(cpus: 0), state: running) }
    }

    @Test func aFlavorSetsCPUsAndMemoryAndOnlyGrowsTheDisk() throws {
        let changes = try ResizePlan.plan(ResizeRequest(flavor: "small2"), state: running)
        #expect(changes.map(\.resource) == ["memory", "disk"])
        #expect(changes[1].to == "20G")
        var big = running
        big.disk = .gibibytes(30)
        #expect(try ResizePlan.plan(ResizeRequest(flavor: "small2"), state: big).map(\.resource) == ["memory"])
    }
}

@Suite struct CloneTests {
    static let source = DomainDocument(
        type: .qemu, name: "src", uuid: "6f1c1f0e-9a3b-4e53-8b1e-2d1c0a3f4b5c",
        metadata: [XML.Element("other:thing", attributes: [("xmlns:other", "urn:other")])],
        maxMemoryKiB: 1_048_576, currentMemoryKiB: 524_288, maxVcpus: 4, vcpus: 1,
        disks: [
            .init(source: .volume(pool: "vmctl", volume: "vm-src-root.qcow2"), format: "qcow2", target: "vda"),
            .init(source: .volume(pool: "vmctl", volume: "vm-src-seed.iso"), format: "raw", target: "vdb", isReadOnly: true),
        ],
        interfaces: [.init(network: "vmctl", mac: "52:54:00:12:34:56")],
        serialLogPath: "/var/log/libvirt/qemu/src-serial.log")

    static let metadata = VMMetadata(
        image: "tiny", flavor: nil, instanceID: "i-new", hostname: "copy", accelerator: "tcg", created: "now",
        volumes: ["root": "vm-copy-root.qcow2", "seed": "vm-copy-seed.iso"])

    @Test func aCloneGetsANewIdentityAndItsOwnDisksAndLog() throws {
        let clone = try Clones.cloneDocument(
            of: Self.source, name: "copy", metadata: Self.metadata,
            replacing: ["vm-src-root.qcow2": "vm-copy-root.qcow2", "vm-src-seed.iso": "vm-copy-seed.iso"])
        #expect(clone.name == "copy")
        #expect(clone.uuid == nil)
        #expect(clone.interfaces.map(\.mac) == [nil])
        #expect(clone.disks.map(\.source) == [.volume(pool: "vmctl", volume: "vm-copy-root.qcow2"),
                                              .volume(pool: "vmctl", volume: "vm-copy-seed.iso")])
        #expect(clone.disks[1].isReadOnly)
        #expect(clone.serialLogPath == "/var/log/libvirt/qemu/copy-serial.log")
        #expect(VMMetadata(domain: try DomainDocument(xml: clone.xml)) == Self.metadata)
        #expect(clone.metadata.contains { $0.name == "other:thing" })
        #expect((clone.maxVcpus, clone.vcpus, clone.currentMemoryKiB) == (4, 1, 524_288))
    }

    @Test func disksThatAreNotVMCtlVolumesAreRefused() {
        var source = Self.source
        source.disks.append(.init(source: .file(path: "/srv/extra.img"), format: "raw", target: "vdc"))
        #expect(throws: VMCtlError.self) {
            try Clones.cloneDocument(of: source, name: "copy", metadata: Self.metadata,
                                     replacing: ["vm-src-root.qcow2": "a", "vm-src-seed.iso": "b"])
        }
    }

    @Test func aRunningSourceIsRefusedWithWhatToDo() throws {
        #expect(try Clones.resolveMode(nil, sourceIsRunning: false, sourceName: "s") == .linked)
        #expect(try Clones.resolveMode(.full, sourceIsRunning: false, sourceName: "s") == .full)
        let error = #expect(throws: VMCtlError.self) { try Clones.resolveMode(nil, sourceIsRunning: true, sourceName: "s") }
        #expect(error?.description.contains("vmctl stop s") == true)
    }
}

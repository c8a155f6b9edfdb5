import Foundation
import LibvirtXML
import Testing
@testable import VMCtlCore

/// The snapshot plan is a pure function of the domain and the options: no daemon needed.
@Suite struct SnapshotPlanTests {
    /// A domain as vmctl defines it (and as libvirt reports it live): qcow2 root overlay, read-only raw seed.
    static func vmctlDomainXML(name: String = "web", extraDisks: String = "", os: String = "") -> String {
        """
        <domain type='qemu' id='7'>
          <name>\(name)</name>
          <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>\(os)<boot dev='hd'/></os>
          <devices>
            <disk type='volume' device='disk'>
              <driver name='qemu' type='qcow2'/>
              <source pool='vmctl' volume='vm-\(name)-root.qcow2' index='2'/>
              <backingStore type='file' index='3'><format type='qcow2'/><source file='/var/lib/vmctl/pool/image-tiny.qcow2'/></backingStore>
              <target dev='vda' bus='virtio'/>
            </disk>
            <disk type='volume' device='disk'>
              <driver name='qemu' type='raw'/>
              <source pool='vmctl' volume='vm-\(name)-seed.iso' index='1'/>
              <target dev='vdb' bus='virtio'/>
              <readonly/>
            </disk>
            \(extraDisks)
          </devices>
        </domain>
        """
    }

    static let pools = ["vmctl": "/var/lib/vmctl/pool"]

    static func subject(running: Bool, extraDisks: String = "", os: String = "") throws -> SnapshotSubject {
        try SnapshotSubject(domainXML: vmctlDomainXML(extraDisks: extraDisks, os: os), isActive: running)
    }

    static func plan(running: Bool, diskOnly: Bool = false, extraDisks: String = "", os: String = "",
                     existing: [String: SnapshotInfo.Kind] = [:], name: String = "before") throws -> SnapshotPlan {
        try SnapshotPlan.make(subject: subject(running: running, extraDisks: extraDisks, os: os), name: name,
                              description: "d", diskOnly: diskOnly, existing: existing, volumeDirectories: pools)
    }

    @Test func readsVMCtlsDomain() throws {
        let subject = try Self.subject(running: true)
        #expect(subject.name == "web")
        #expect(subject.disks.map(\.target) == ["vda", "vdb"])
        #expect(subject.disks[0].source == .volume(pool: "vmctl", volume: "vm-web-root.qcow2"))
        #expect(subject.disks[0].format == "qcow2")
        #expect(subject.disks[1].isReadOnly)
        #expect(subject.pflashFirmware == nil)
    }

    @Test func runningVMGetsAnInternalSnapshotWithRAMAndTheSeedLeftOutExplicitly() throws {
        let plan = try Self.plan(running: true)
        #expect(plan.kind == .internal)
        #expect(plan.includesMemory)
        #expect(!plan.diskOnlyFlag)
        #expect(plan.included == ["vda"])
        #expect(plan.excluded == [.init(disk: "vdb", reason: "read-only")])
        #expect(plan.document == SnapshotDocument(
            name: "before", description: "d", memory: .internal,
            disks: [.init(name: "vda", snapshot: .internal), .init(name: "vdb", snapshot: .no)]))
        #expect(plan.document.xml.contains(#"<disk name="vdb" snapshot="no"/>"#))
    }

    @Test(arguments: [false, true])
    func stoppedVMGetsAnInternalDiskSnapshot(diskOnly: Bool) throws {
        let plan = try Self.plan(running: false, diskOnly: diskOnly)
        #expect(plan.kind == .internal)
        #expect(!plan.includesMemory)
        #expect(!plan.diskOnlyFlag)
        #expect(plan.document.memory == SnapshotDocument.MemoryMode.no)
        #expect(plan.document.disks.map(\.snapshot) == [.internal, .no])
    }

    @Test func diskOnlyOnARunningVMIsExternalWithAnOverlayBesideTheVolume() throws {
        let plan = try Self.plan(running: true, diskOnly: true)
        #expect(plan.kind == .external)
        #expect(!plan.includesMemory)
        #expect(plan.diskOnlyFlag)
        #expect(plan.overlays == ["vda": "/var/lib/vmctl/pool/vm-web-root.before.qcow2"])
        #expect(plan.document.disks == [
            .init(name: "vda", snapshot: .external, sourceFile: "/var/lib/vmctl/pool/vm-web-root.before.qcow2", format: "qcow2"),
            .init(name: "vdb", snapshot: .no),
        ])
    }

    @Test func aSecondExternalSnapshotStartsFromTheOriginalStem() throws {
        let disk = SnapshotSubject.Disk(target: "vda", format: "qcow2",
                                        source: .file(path: "/var/lib/vmctl/pool/vm-web-root.before.qcow2"))
        #expect(SnapshotPlan.overlayPath(for: disk, snapshot: "after", volumeDirectories: [:])
                == "/var/lib/vmctl/pool/vm-web-root.after.qcow2")
        let unknownPool = SnapshotSubject.Disk(target: "vda", format: "qcow2", source: .volume(pool: "other", volume: "x.qcow2"))
        #expect(SnapshotPlan.overlayPath(for: unknownPool, snapshot: "s", volumeDirectories: [:]) == nil)
    }

    @Test func cdromsAreLeftOut() throws {
        let plan = try Self.plan(running: true, extraDisks: """
            <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/iso/x.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>
            """)
        #expect(plan.excluded.map(\.disk) == ["vdb", "hdc"])
        #expect(plan.excluded.last?.reason == "removable media")
    }

    @Test(arguments: [true, false])
    func aWritableRawDiskIsRefusedByName(running: Bool) throws {
        let error = #expect(throws: VMCtlError.self) {
            try Self.plan(running: running, extraDisks: """
                <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/var/lib/vmctl/pool/data.img'/><target dev='vdc' bus='virtio'/></disk>
                """)
        }
        #expect(error?.description.contains("disk 'vdc' is raw and writable") == true)
        #expect(error?.description.contains("qcow2") == true)
    }

    @Test func anExternalSnapshotNeedsAFileForTheOverlay() throws {
        let error = #expect(throws: VMCtlError.self) {
            try Self.plan(running: true, diskOnly: true, extraDisks: """
                <disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/sdz'/><target dev='vdc' bus='virtio'/></disk>
                """)
        }
        #expect(error?.description.contains("disk 'vdc'") == true)
    }

    @Test func sharedWritableDisksAreRefused() throws {
        let error = #expect(throws: VMCtlError.self) {
            try Self.plan(running: true, extraDisks: """
                <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/p/s.qcow2'/><target dev='vdc' bus='virtio'/><shareable/></disk>
                """)
        }
        #expect(error?.description.contains("disk 'vdc' is shared") == true)
    }

    @Test(arguments: [
        "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader><nvram>/var/lib/libvirt/qemu/nvram/web_VARS.fd</nvram>",
        "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>",
    ])
    func uefiPflashFirmwareIsRefused(os: String) throws {
        for running in [true, false] {
            let error = #expect(throws: VMCtlError.self) { try Self.plan(running: running, os: os) }
            #expect(error?.description.contains("UEFI firmware with pflash NVRAM") == true)
        }
    }

    @Test func aVMWithOnlyReadOnlyDisksHasNothingToSnapshot() throws {
        let subject = SnapshotSubject(name: "ro", isActive: true, disks: [
            .init(target: "vdb", format: "raw", source: .file(path: "/p/seed.iso"), isReadOnly: true),
        ])
        let error = #expect(throws: VMCtlError.self) { try SnapshotPlan.make(subject: subject, name: "s") }
        #expect(error?.description.contains("no writable disk") == true)
    }

    @Test(arguments: ["", "-a", "a b", "semi;colon", "quote'd", "$(id)", "a.b", String(repeating: "s", count: 64)])
    func invalidNamesAreRefused(name: String) throws {
        let error = #expect(throws: VMCtlError.self) { try Self.plan(running: true, name: name) }
        #expect(error?.description.hasPrefix("invalid snapshot name") == true)
    }

    @Test func duplicateNamesAreRefused() throws {
        let error = #expect(throws: VMCtlError.self) { try Self.plan(running: true, existing: ["before": .internal]) }
        #expect(error?.description == "snapshot 'before' of VM 'web' already exists")
    }

    @Test func kindsAreNotMixedOnOneVM() throws {
        let external = #expect(throws: VMCtlError.self) {
            try Self.plan(running: true, diskOnly: true, existing: ["a": .internal])
        }
        #expect(external?.description.contains("internal snapshots ('a')") == true)
        for running in [true, false] {
            let refused = #expect(throws: VMCtlError.self) { try Self.plan(running: running, existing: ["e": .external]) }
            #expect(refused?.description.contains("external snapshots ('e')") == true)
        }
        #expect(try Self.plan(running: true, diskOnly: true, existing: ["e": .external]).kind == .external)
        #expect(try Self.plan(running: false, existing: ["a": .internal]).kind == .internal)
    }

    // MARK: Reading snapshots back

    static let libvirt9 = (major: 9, minor: 0, release: 0)

    static func info(_ xml: String, current: Bool = false) throws -> SnapshotInfo {
        SnapshotInfo(vm: "web", document: try SnapshotDocument(xml: xml), current: current, libraryVersion: libvirt9)
    }

    @Test func infoFromLibvirtsOutput() throws {
        let running = try Self.info("""
            <domainsnapshot><name>s1</name><description>x</description><state>running</state>
            <creationTime>1795411188</creationTime><memory snapshot='internal'/>
            <disks><disk name='vda' snapshot='internal'/><disk name='vdb' snapshot='no'/></disks>
            <domain type='qemu'><name>web</name></domain></domainsnapshot>
            """, current: true)
        #expect(running == SnapshotInfo(
            vm: "web", name: "s1", description: "x", kind: .internal, includesMemory: true, state: "running",
            parent: nil, created: "2026-11-23T05:19:48Z", current: true, disks: ["vda"], excludedDisks: ["vdb"],
            revertible: true))
        let external = try Self.info("""
            <domainsnapshot><name>e</name><state>disk-snapshot</state><parent><name>s1</name></parent>
            <memory snapshot='no'/><disks><disk name='vda' snapshot='external' type='file'><driver type='qcow2'/>
            <source file='/var/lib/vmctl/pool/vm-web-root.e.qcow2'/></disk><disk name='vdb' snapshot='no'/></disks>
            </domainsnapshot>
            """)
        #expect(external.kind == .external)
        #expect(!external.includesMemory)
        #expect(external.parent == "s1")
        #expect(!external.revertible)
    }

    @Test func externalRevertIsRefusedNamingTheLibvirtVersion() throws {
        let external = SnapshotInfo(vm: "web", name: "e", description: nil, kind: .external, includesMemory: false,
                                    state: "disk-snapshot", parent: nil, created: nil, current: true, disks: ["vda"],
                                    excludedDisks: [], revertible: false)
        let refusal = try #require(SnapshotPlan.revertRefusal(of: external, libraryVersion: Self.libvirt9))
        #expect(refusal.contains("libvirt 9.0.0 cannot revert external snapshots"))
        #expect(refusal.contains("9.9"))
        #expect(SnapshotPlan.revertRefusal(of: external, libraryVersion: (9, 9, 0)) == nil)
        #expect(SnapshotPlan.revertRefusal(of: external, libraryVersion: (10, 0, 0)) == nil)
        #expect(SnapshotPlan.revertRefusal(of: SnapshotInfo(
            vm: "web", name: "i", description: nil, kind: .internal, includesMemory: true, state: "running",
            parent: nil, created: nil, current: true, disks: ["vda"], excludedDisks: [], revertible: true),
            libraryVersion: Self.libvirt9) == nil)
    }

    @Test(arguments: [Int64(0), 951_782_400, 1_795_411_188, 4_107_542_399, 1_709_164_800, -1])
    func creationTimesPrintLikeISO8601(seconds: Int64) {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        #expect(SnapshotInfo.iso8601(seconds) == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))))
    }

    static func named(_ name: String, parent: String?, created: String, kind: SnapshotInfo.Kind = .internal,
                      current: Bool = false) -> SnapshotInfo {
        SnapshotInfo(vm: "web", name: name, description: nil, kind: kind, includesMemory: false, state: "shutoff",
                     parent: parent, created: created, current: current, disks: ["vda"], excludedDisks: ["vdb"],
                     revertible: kind == .internal)
    }

    @Test func treePutsChildrenUnderParentsOldestFirst() {
        let list = [
            Self.named("c2", parent: "b", created: "2026-01-01T00:00:04Z", current: true),
            Self.named("a", parent: nil, created: "2026-01-01T00:00:01Z"),
            Self.named("c1", parent: "b", created: "2026-01-01T00:00:03Z"),
            Self.named("b", parent: "a", created: "2026-01-01T00:00:02Z"),
            Self.named("other", parent: "gone", created: "2026-01-01T00:00:05Z"),
        ]
        let tree = SnapshotInfo.tree(list)
        #expect(tree.map(\.snapshot.name) == ["a", "b", "c1", "c2", "other"])
        #expect(tree.map(\.depth) == [0, 1, 2, 2, 0])
    }

    // MARK: Delete

    static let current = try! SnapshotSubject(domainXML: vmctlDomainXML(), isActive: true)

    static func snapshotXML(_ name: String, source: String) -> String {
        """
        <domainsnapshot><name>\(name)</name><state>running</state><memory snapshot='internal'/>
        <disks><disk name='vda' snapshot='internal'/><disk name='vdb' snapshot='no'/></disks>
        <domain type='qemu'><name>web</name><devices>
        <disk type='\(source.hasPrefix("/") ? "file" : "volume")' device='disk'><driver name='qemu' type='qcow2'/>
        \(source.hasPrefix("/") ? "<source file='\(source)'/>" : "<source pool='vmctl' volume='\(source)'/>")
        <target dev='vda' bus='virtio'/></disk></devices></domain></domainsnapshot>
        """
    }

    @Test func deletingAnInternalSnapshotOnTheImageInUseIsFine() {
        let info = Self.named("a", parent: nil, created: "1")
        #expect(SnapshotPlan.deleteRefusal(vm: "web", targets: [(info, Self.snapshotXML("a", source: "vm-web-root.qcow2"))],
                                           all: [info], domain: Self.current) == nil)
    }

    @Test func deletingAnInternalSnapshotLeftBehindOnAnotherImageIsRefusedFirst() throws {
        let info = Self.named("a", parent: nil, created: "1")
        let refusal = try #require(SnapshotPlan.deleteRefusal(
            vm: "web", targets: [(info, Self.snapshotXML("a", source: "/var/lib/vmctl/pool/vm-web-root.e.qcow2"))],
            all: [info], domain: Self.current))
        #expect(refusal.contains("cannot delete snapshot 'a'"))
        #expect(refusal.contains("disk 'vda'"))
    }

    @Test func mixedSubtreesAndExternalsUnderInternalsAreRefusedFirst() throws {
        let a = Self.named("a", parent: nil, created: "1")
        let e = Self.named("e", parent: "a", created: "2", kind: .external)
        let mixed = try #require(SnapshotPlan.deleteRefusal(
            vm: "web", targets: [(a, Self.snapshotXML("a", source: "vm-web-root.qcow2")), (e, "")], all: [a, e],
            domain: Self.current))
        #expect(mixed.contains("mix internal and external"))
        let underInternal = try #require(SnapshotPlan.deleteRefusal(vm: "web", targets: [(e, "")], all: [a, e],
                                                                    domain: Self.current))
        #expect(underInternal.contains("its parent 'a' is internal"))
        let e2 = Self.named("e2", parent: "e", created: "3", kind: .external)
        #expect(SnapshotPlan.deleteRefusal(vm: "web", targets: [(e2, "")], all: [a, e, e2], domain: Self.current) == nil)
    }

    @Test func metadataForLibvirtHasNoNamespaceOfItsOwn() throws {
        let metadata = VMMetadata(image: "tiny", flavor: nil, instanceID: "i-1", hostname: "web", accelerator: "tcg",
                                        created: "now", volumes: ["root": "vm-web-root.qcow2"])
        let xml = XMLWriter.render(metadata.bareElement)
        #expect(!xml.contains("vmctl:"))
        #expect(!xml.contains("xmlns"))
        #expect(xml.contains(#"<volume role="root">vm-web-root.qcow2</volume>"#))
    }
}

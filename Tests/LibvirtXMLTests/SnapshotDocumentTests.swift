import Foundation
import Libvirt
import LibvirtXML
import Testing

/// `<domainsnapshot>` with per-disk choices: what vmctl hands libvirt for internal and external snapshots.
@Suite struct SnapshotDocumentTests {
    static func sample() -> SnapshotDocument {
        SnapshotDocument(
            name: "before-upgrade", description: DocumentTests.hostile, memory: .no,
            disks: [
                .init(name: "vda", snapshot: .external, sourceFile: "/var/lib/vmctl/pool/vm-web-1-root.before-upgrade.qcow2",
                      format: "qcow2"),
                .init(name: "vdb", snapshot: .no),
            ])
    }

    @Test func rendersTheGoldenXML() throws {
        #expect(Self.sample().xml == (try DocumentTests.golden("snapshot")))
    }

    @Test func roundTripsThroughItsXML() throws {
        #expect(try SnapshotDocument(xml: Self.sample().xml) == Self.sample())
        let withRAM = SnapshotDocument(name: "s", memory: .internal,
                                        disks: [.init(name: "vda", snapshot: .internal), .init(name: "vdb", snapshot: .no)])
        #expect(try SnapshotDocument(xml: withRAM.xml) == withRAM)
        #expect(!SnapshotDocument(name: "plain").xml.contains("<disks"))
    }

    @Test func readsLibvirtsOutputForAnExternalSnapshot() throws {
        let document = try SnapshotDocument(xml: """
            <domainsnapshot>
              <name>ext1</name>
              <state>disk-snapshot</state>
              <parent><name>off1</name></parent>
              <creationTime>1795411194</creationTime>
              <memory snapshot='no'/>
              <disks>
                <disk name='vda' snapshot='external' type='file'>
                  <driver type='qcow2'/>
                  <source file='/var/lib/vmctl/pool/vm-a-root.ext1.qcow2'/>
                </disk>
                <disk name='vdb' snapshot='no'/>
              </disks>
              <domain type='qemu'><name>a</name><devices><disk type='file'><target dev='vda'/></disk></devices></domain>
            </domainsnapshot>
            """)
        #expect(document.state == "disk-snapshot")
        #expect(document.parent == "off1")
        #expect(document.disks == [
            .init(name: "vda", snapshot: .external, sourceFile: "/var/lib/vmctl/pool/vm-a-root.ext1.qcow2", format: "qcow2"),
            .init(name: "vdb", snapshot: .no),
        ])
    }

    /// libvirt's test driver takes the per-disk element and reports it back.
    @Test func libvirtAcceptsTheDisksElement() throws {
        let connection = try Connection(uri: "test:///default")
        var domain = DocumentTests.sampleDomain()
        domain.name = "snapdoc"
        domain.uuid = nil
        domain.disks = [.init(source: .file(path: "/tmp/snapdoc.qcow2"), format: "qcow2", target: "vda")]
        let defined = try connection.defineDomain(xml: domain.xml)
        defer { try? defined.undefine([.managedSave, .snapshotsMetadata]) }
        let request = SnapshotDocument(name: "s1", description: "a \"quoted\" <one>", memory: .no,
                                       disks: [.init(name: "vda", snapshot: .internal)])
        let snapshot = try defined.createSnapshot(xml: request.xml)
        let reread = try SnapshotDocument(xml: snapshot.xml())
        #expect(reread.description == request.description)
        #expect(reread.disks.first { $0.name == "vda" }?.snapshot == .internal)
    }
}

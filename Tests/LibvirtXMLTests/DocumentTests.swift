import Foundation
import Libvirt
import LibvirtXML
import Testing

@Suite struct DocumentTests {
    static let hostile = #"it's "quoted" <b>&amp; more</b> & done"#

    static func sampleDomain() -> DomainDocument {
        DomainDocument(
            type: .qemu, name: "web-1", uuid: "6f1c1f0e-9a3b-4e53-8b1e-2d1c0a3f4b5c",
            metadata: [XML.Element("vmctl:instance", attributes: [("xmlns:vmctl", "https://vmctl.dev/xmlns/1")],
                                   children: [.element(XML.Element("vmctl:image", text: "tiny"))])],
            maxMemoryKiB: 1_048_576, currentMemoryKiB: 524_288, maxVcpus: 4, vcpus: 1,
            disks: [
                .init(source: .volume(pool: "vmctl", volume: "vm-web-1-root.qcow2"), format: "qcow2", target: "vda"),
                .init(source: .volume(pool: "vmctl", volume: "vm-web-1-seed.iso"), format: "raw", target: "vdb", isReadOnly: true),
            ],
            interfaces: [.init(network: "vmctl", mac: "52:54:00:12:34:56")],
            serialLogPath: "/var/log/libvirt/qemu/web-1-serial.log")
    }

    static func sampleNetwork() -> NetworkDocument {
        NetworkDocument(
            name: "lab", forward: .nat, bridgeName: "labbr0", stp: false, domainName: "lab",
            ipv4: .init(address: "10.50.0.1", prefix: 24, dhcpRange: ("10.50.0.10", "10.50.0.200"),
                        hosts: [.init(mac: "52:54:00:00:00:0a", address: "10.50.0.10", name: "web-1")]),
            dnsmasqOptions: ["no-ping"])
    }

    static func golden(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "xml", subdirectory: "Golden"))
        return try String(contentsOf: url, encoding: .utf8)
    }

    @Test func domainRendersTheGoldenXML() throws {
        #expect(Self.sampleDomain().xml == (try Self.golden("domain")))
    }

    @Test func networkRendersTheGoldenXML() throws {
        #expect(Self.sampleNetwork().xml == (try Self.golden("network")))
    }

    @Test func documentsRoundTripThroughTheirXML() throws {
        #expect(try DomainDocument(xml: Self.sampleDomain().xml) == Self.sampleDomain())
        #expect(try NetworkDocument(xml: Self.sampleNetwork().xml) == Self.sampleNetwork())
        let volume = VolumeDocument(name: "vm-a-root.qcow2", capacityBytes: 2 << 30, format: "qcow2",
                                    backing: .init(path: "/var/lib/vmctl/pool/image-tiny.qcow2", format: "qcow2"))
        #expect(try VolumeDocument(xml: volume.xml) == volume)
        let snapshot = SnapshotDocument(name: "before", description: Self.hostile, memory: .internal)
        #expect(try SnapshotDocument(xml: snapshot.xml) == snapshot)
        let pool = StoragePoolDocument(name: "vmctl", targetPath: "/var/lib/vmctl/pool")
        #expect(try StoragePoolDocument(xml: pool.xml) == pool)
    }

    @Test func markupInValuesIsEscapedNotInterpreted() throws {
        var domain = Self.sampleDomain()
        domain.title = Self.hostile
        domain.description = Self.hostile + "\nsecond line\twith tab"
        let xml = domain.xml
        #expect(!xml.contains("<b>"))
        #expect(xml.contains("&lt;b&gt;&amp;amp; more&lt;/b&gt;"))
        let parsed = try DomainDocument(xml: xml)
        #expect(parsed.title == Self.hostile)
        #expect(parsed.description == domain.description)
    }

    @Test func attributesKeepQuotesAndLineBreaks() throws {
        let element = XML.Element("e", attributes: [("a", #"x"y'z<&>"#), ("b", "line1\nline2")])
        let parsed = try XMLReader.parse(XMLWriter.render(element))
        #expect(parsed[attribute: "a"] == #"x"y'z<&>"#)
        #expect(parsed[attribute: "b"] == "line1\nline2")
    }

    @Test func readerRejectsBrokenXMLWithALine() {
        let error = #expect(throws: XMLReadError.self) { try XMLReader.parse("<a>\n<b></a>") }
        #expect(error?.description.contains("line") == true)
    }

    @Test func parsesLibvirtsOwnOutputWithUnitsAndNetmask() throws {
        let network = try NetworkDocument(xml: """
            <network><name>n</name><forward mode='route'/><bridge name='b0' stp='on' delay='2'/>
            <ip address='192.168.5.1' netmask='255.255.255.0'/></network>
            """)
        #expect(network.forward == .route)
        #expect(network.stp)
        #expect(network.ipv4?.prefix == 24)
        let volume = try VolumeDocument(xml: "<volume><name>v</name><capacity unit='G'>2</capacity><target><format type='qcow2'/></target></volume>")
        #expect(volume.capacityBytes == 2 << 30)
    }

    /// The same document, defined in libvirt's test driver and read back, keeps hostile text intact.
    @Test func hostileTextSurvivesLibvirt() throws {
        let connection = try Connection(uri: "test:///default")
        var domain = Self.sampleDomain()
        domain.disks = []
        domain.title = "title with 'quotes' & \"double\""
        domain.description = Self.hostile
        let defined = try connection.defineDomain(xml: domain.xml)
        let reread = try DomainDocument(xml: defined.xml())
        #expect(reread.title == domain.title)
        #expect(reread.description == Self.hostile)
        #expect(reread.metadata(namespaceURI: "https://vmctl.dev/xmlns/1")?.first("vmctl:image")?.text == "tiny")
    }
}

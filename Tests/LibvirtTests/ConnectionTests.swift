import Libvirt
import LibvirtXML
import Testing

/// Runs against libvirt's in-process test driver: every `test:///default` connection starts from the
/// same fresh state (one running domain "test", network "default", pool "default-pool").
@Suite struct ConnectionTests {
    let connection: Connection

    init() throws { connection = try Connection(uri: "test:///default") }

    @Test func reportsItsURIAndVersions() throws {
        #expect(try connection.uri == "test:///default")
        #expect(try connection.libraryVersion.major >= 9)
        #expect(connection.isAlive)
    }

    @Test func listsAndLooksUpDomains() throws {
        let names = try connection.listAllDomains().map(\.name)
        #expect(names.contains("test"))
        let domain = try connection.lookupDomain(name: "test")
        #expect(try domain.state() == .running)
        #expect(try domain.info().vcpus >= 1)
        #expect(try connection.lookupDomain(uuid: domain.uuid).name == "test")
        #expect(try domain.xml().contains("<name>test</name>"))
    }

    @Test func missingObjectsRaiseNotFoundWithLibvirtsMessage() throws {
        let error = try #require(throws: LibvirtError.self) { try connection.lookupDomain(name: "absent") }
        #expect(error.isNotFound)
        #expect(error.code == 42)  // VIR_ERR_NO_DOMAIN
        #expect(error.message.contains("not found"))
        #expect(throws: LibvirtError.self) { try connection.lookupNetwork(name: "absent") }
        #expect(throws: LibvirtError.self) { try connection.lookupStoragePool(name: "absent") }
    }

    @Test func failedOpenThrowsInsteadOfPrinting() {
        #expect(throws: LibvirtError.self) { try Connection(uri: "test:///nonexistent/path.xml") }
    }

    @Test func definesStartsAndRemovesADomain() throws {
        let document = DomainDocument(
            type: .qemu, name: "made", maxMemoryKiB: 131_072, currentMemoryKiB: 65_536, maxVcpus: 2, vcpus: 1)
        let domain = try connection.defineDomain(xml: document.xml)
        #expect(try domain.state() == .shutoff)
        #expect(try !domain.isActive)
        try domain.start()
        #expect(try domain.isActive)
        try domain.suspend()
        #expect(try domain.state() == .paused)
        try domain.resume()
        try domain.destroy()
        // The test driver knows fewer undefine flags than the QEMU driver.
        try domain.undefine([.managedSave, .snapshotsMetadata])
        #expect(throws: LibvirtError.self) { try connection.lookupDomain(name: "made") }
    }

    @Test func metadataRoundTripsUnderItsNamespace() throws {
        let domain = try connection.lookupDomain(name: "test")
        let namespace = "https://vmctl.dev/xmlns/test"
        #expect(try domain.metadata(namespaceURI: namespace) == nil)
        try domain.setMetadata("<item>a &amp; b</item>", key: "t", namespaceURI: namespace, .live)
        let stored = try #require(try domain.metadata(namespaceURI: namespace, .live))
        let element = try XMLReader.parse(stored)
        #expect(element.text == "a & b")
    }

    @Test func networksDefineStartAndReportLeases() throws {
        let document = NetworkDocument(
            name: "labnet", forward: .nat, bridgeName: "labbr0",
            ipv4: .init(address: "10.99.0.1", prefix: 24, dhcpRange: ("10.99.0.10", "10.99.0.20")))
        let network = try connection.defineNetwork(xml: document.xml)
        try network.start()
        #expect(try network.isActive)
        #expect(try network.bridgeName == "labbr0")
        try network.update(.addLast, section: .ipDHCPHost,
                           xml: XMLWriter.render(NetworkDocument.DHCPHost(mac: "52:54:00:00:00:01", address: "10.99.0.11").element))
        let reread = try NetworkDocument(xml: network.xml())
        #expect(reread.ipv4?.hosts.map(\.address) == ["10.99.0.11"])
        try network.destroy()
        try network.undefine()
        #expect(throws: LibvirtError.self) { try connection.lookupNetwork(name: "labnet") }
    }

    @Test func storageVolumesAreCreatedAndDeleted() throws {
        let pool = try connection.lookupStoragePool(name: "default-pool")
        #expect(try pool.isActive)
        let volume = try pool.createVolume(xml: VolumeDocument(name: "disk1", capacityBytes: 1 << 30, format: "raw").xml)
        #expect(try volume.info().capacity == 1 << 30)
        #expect(try pool.listAllVolumes().map(\.name).contains("disk1"))
        #expect(try VolumeDocument(xml: volume.xml()).name == "disk1")
        try volume.delete()
        #expect(throws: LibvirtError.self) { try pool.lookupVolume(name: "disk1") }
    }

    @Test func snapshotsAreListedRevertedAndDeleted() throws {
        let domain = try connection.lookupDomain(name: "test")
        let first = try domain.createSnapshot(xml: SnapshotDocument(name: "one", description: "a \"quoted\" <one>").xml)
        let second = try domain.createSnapshot(xml: SnapshotDocument(name: "two").xml)
        #expect(Set(try domain.listAllSnapshots().map(\.name)) == ["one", "two"])
        #expect(try second.parent()?.name == "one")
        #expect(try first.parent() == nil)
        #expect(try SnapshotDocument(xml: first.xml()).description == "a \"quoted\" <one>")
        try first.revert()
        #expect(try first.isCurrent)
        try first.delete(.children)
        #expect(try domain.listAllSnapshots().isEmpty)
    }
}

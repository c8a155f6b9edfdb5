import LibvirtXML
import Testing
@testable import VMCtlCore

@Suite struct SeedTests {
    let seed = NoCloudSeed(
        instanceID: "i-1234", hostname: "web-1",
        sshAuthorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI vmctl"],
        runCommands: ["echo 'it''s' > /data/x", "echo second"])

    @Test func metaDataNamesTheInstance() {
        #expect(seed.metaData == "instance-id: 'i-1234'\nlocal-hostname: 'web-1'\n")
    }

    @Test func userDataQuotesEveryScalar() {
        let lines = seed.userData.split(separator: "\n").map(String.init)
        #expect(lines.first == "#cloud-config")
        #expect(lines.contains("  - 'echo ''it''''s'' > /data/x'"))
        #expect(lines.contains("  - 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI vmctl'"))
        #expect(lines.contains("disable_root: false"))
    }

    /// Reads the image back the way an ISO 9660 reader does: descriptor, root directory, file extents.
    @Test func isoHoldsTheFilesUnderTheCidataLabel() throws {
        let image = seed.isoImage(timestamp: .init(year: 2026, month: 11, day: 23, hour: 4, minute: 5, second: 6))
        #expect(image.count % 2048 == 0)
        let pvd = Array(image[16 * 2048..<17 * 2048])
        #expect(pvd[0] == 1 && Array(pvd[1..<6]) == Array("CD001".utf8))
        #expect(String(decoding: pvd[40..<72], as: UTF8.self).trimmingSpaces == "CIDATA")
        #expect(Int(pvd[80]) | Int(pvd[81]) << 8 == image.count / 2048)
        #expect(image[17 * 2048] == 255)
        let rootSector = Int(pvd[158]) | Int(pvd[159]) << 8
        var offset = rootSector * 2048
        var files: [String: String] = [:]
        while image[offset] != 0 {
            let length = Int(image[offset])
            let nameLength = Int(image[offset + 32])
            let name = String(decoding: image[(offset + 33)..<(offset + 33 + nameLength)], as: UTF8.self)
            let extent = Int(image[offset + 2]) | Int(image[offset + 3]) << 8
            let size = Int(image[offset + 10]) | Int(image[offset + 11]) << 8
            if image[offset + 25] & 2 == 0 {
                files[name] = String(decoding: image[(extent * 2048)..<(extent * 2048 + size)], as: UTF8.self)
            }
            offset += length
        }
        #expect(files == ["META-DATA;1": seed.metaData, "USER-DATA;1": seed.userData])
    }
}

@Suite struct MetadataTests {
    @Test func instanceMetadataRoundTripsThroughDomainXML() throws {
        let metadata = VMMetadata(
            image: "tiny", flavor: "nano", instanceID: "i-9", hostname: "a", accelerator: "tcg",
            created: "2026-11-23T00:00:00Z", volumes: ["root": "vm-a-root.qcow2", "seed": "vm-a-seed.iso"])
        let document = DomainDocument(type: .qemu, name: "a", metadata: [metadata.element],
                                      maxMemoryKiB: 1024, currentMemoryKiB: 1024, maxVcpus: 1, vcpus: 1)
        let parsed = try DomainDocument(xml: document.xml)
        #expect(VMMetadata(domain: parsed) == metadata)
    }

    @Test func libvirtMayRenameThePrefix() throws {
        let element = try XMLReader.parse("""
            <x:instance xmlns:x="https://vmctl.dev/xmlns/1"><x:image>tiny</x:image><x:instance-id>i-1</x:instance-id></x:instance>
            """)
        #expect(VMMetadata(element: element)?.image == "tiny")
    }

    @Test func defaultNetworkIsTunedForFastDHCP() {
        let network = Networks.defaultDocument()
        #expect(!network.stp && network.bridgeDelay == 0)
        #expect(network.dnsmasqOptions == ["no-ping"])
        // libvirt adds no rules for an open network; vmctl's firewall makes it NAT.
        #expect(network.forward == .open)
        #expect(NetworkMetadata(document: network)?.mode == .nat)
    }
}

@Suite struct ReachabilityTests {
    @Test func parsesDottedQuads() {
        #expect(IPv4Address("10.77.0.5")?.value == 0x0a4d_0005)
        #expect(IPv4Address("10.77.0.5")?.description == "10.77.0.5")
        for bad in ["10.77.0", "256.1.1.1", "a.b.c.d", "1.2.3.4.5", "", "1..2.3"] { #expect(IPv4Address(bad) == nil) }
    }

    @Test func onlyDirectlyConnectedSubnetsCount() throws {
        #expect(GuestReachability.isOnLink(try #require(IPv4Address("127.0.0.2"))))
        // A documentation-range address is never on a local link here, so it is never probed.
        let faraway = try #require(IPv4Address("203.0.113.7"))
        #expect(!GuestReachability.isOnLink(faraway))
        #expect(!GuestReachability.answers(faraway))
    }
}

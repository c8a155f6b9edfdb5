import Libvirt
import LibvirtXML
import Testing
@testable import VMCtlCore

/// Listings read each object after listing it; another client may delete it in between.
struct VanishedObjectTests {
    @Test func anObjectRemovedAfterTheListingIsSkippedNotAFailure() throws {
        let connection = try Connection(uri: "test:///default")
        let document = DomainDocument(type: .qemu, name: "vanishing", maxMemoryKiB: 131_072, currentMemoryKiB: 65_536, maxVcpus: 1, vcpus: 1)
        let domain = try connection.defineDomain(xml: document.xml)
        try domain.undefine([.managedSave, .snapshotsMetadata])

        // Inside the reworded call, as the lab observer reads each VM's state.
        #expect(try libvirt("cannot read VM state") { try unlessVanished { try domain.isActive } } == nil)
        // Reworded first, it is an error like any other: the helper must wrap the libvirt call itself.
        #expect(throws: VMCtlError.self) { try unlessVanished { try libvirt("cannot read VM state") { try domain.isActive } } }
        // Other failures still fail.
        #expect(throws: LibvirtError.self) { try unlessVanished { try connection.defineDomain(xml: "<domain/>") } }
    }
}

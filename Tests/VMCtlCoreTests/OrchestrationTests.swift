import Foundation
import Libvirt
import LibvirtXML
import Synchronization
import Testing
@testable import VMCtlCore

/// Create, delete and leftovers through VMCtlCore, on libvirt's in-process test driver: no daemon, no root.
///
/// What the driver can and cannot stand in for: it keeps pools, volumes, networks and domains as records,
/// writes no file, implements no volume upload and cannot show a network's persistent definition
/// (VIR_NETWORK_XML_INACTIVE). A create reads that definition before it makes its first volume, so on this
/// driver it always stops there: what is tested of create is what comes before (refusals, the removal of its
/// own leftovers), and rollback is tested on the steps that make a volume and then fail on the upload. A whole
/// VM is assembled as create leaves it (volumes, a domain naming them in vmctl's metadata),
/// without the address reservation the driver cannot show. Deleting a VM itself cannot run here (the driver
/// refuses the undefine flags for NVRAM and checkpoints that vmctl passes); deleting what is left of one
/// can. Real guests (integration tests) cover the rest.
/// Connections to `test:///default` open at the same time share one state: the suite runs serialized, on
/// names of its own, and removes what it made.
@Suite(.serialized) struct OrchestrationTests {
    let session: Session
    let storage: Storage
    let notices = Notices()
    let image = "orch"

    init() throws {
        session = try Session(uri: "test:///default")
        storage = Storage(session: session)
        // vmctl starts its pool building it (the directory may be gone), which the test driver does not
        // implement: the pool is defined and started here, and Storage finds it running.
        let pool: StoragePool
        do {
            pool = try session.connection.lookupStoragePool(name: VMCtlNames.storagePool)
        } catch let error as LibvirtError where error.isNotFound {
            pool = try session.connection.defineStoragePool(
                xml: StoragePoolDocument(name: VMCtlNames.storagePool, targetPath: VMCtlPaths.poolDirectory).xml)
        }
        if try !pool.isActive { try pool.start() }
        // A test driver image is a record: its capacity is all a create reads from it.
        if (try? storage.image(named: image)) == nil {
            let document = VolumeDocument(name: VMCtlNames.imageVolume(image, format: "qcow2"), capacityBytes: 1 << 30, format: "qcow2")
            _ = try storage.pool().createVolume(xml: document.xml)
        }
    }

    var instances: VMs {
        let notices = notices
        return VMs(session: session) { notices.add($0) }
    }

    func spec(_ name: String) throws -> VMSpec {
        try VMSpec(name: name, image: image, network: "default", accel: .tcg)
    }

    func imageInfo(_ name: String) throws -> ImageInfo { try storage.image(named: name).info }

    /// The names of the volumes `vm` owns by vmctl's naming (`vm-NAME-…`, `export-NAME-…`).
    func volumes(of vm: String) throws -> [String] {
        try storage.allVolumes().map(\.name).filter {
            VMCtlNames.owner(ofVolume: $0) == vm || VMCtlNames.owner(ofExportVolume: $0) == vm
        }.sorted()
    }

    func domainExists(_ name: String) -> Bool { (try? session.connection.lookupDomain(name: name)) != nil }

    /// Volumes as an interrupted create (or export) of `vm` leaves them: no domain claims them.
    func leaveVolumes(of vm: String, _ names: [String]) throws {
        let pool = try storage.pool()
        for name in names {
            let format = name.hasSuffix(".iso") ? "raw" : "qcow2"
            _ = try pool.createVolume(xml: VolumeDocument(name: name, capacityBytes: 1 << 20, format: format).xml)
        }
    }

    /// Removes whatever a test made of `vms`, whatever state it stopped in.
    func remove(_ vms: [String]) {
        for vm in vms {
            if let domain = try? session.connection.lookupDomain(name: vm) {
                if (try? domain.isActive) == true { try? domain.destroy() }
                // The flags the test driver knows (not vmctl's .everything).
                try? domain.undefine([.managedSave, .snapshotsMetadata])
            }
            for volume in (try? storage.allVolumes()) ?? [] where VMCtlNames.owner(ofVolume: volume.name) == vm
                || VMCtlNames.owner(ofExportVolume: volume.name) == vm {
                try? volume.delete()
            }
        }
    }

    /// A VM as a create that went through leaves it: root overlay and seed, and a defined (here running)
    /// domain naming them in vmctl's metadata.
    func assembleVM(_ name: String) throws -> [String] {
        let root = try storage.createOverlay(named: VMCtlNames.rootVolume(of: name), on: imageInfo(image), capacity: 2 << 30)
        let seed = try storage.pool().createVolume(
            xml: VolumeDocument(name: VMCtlNames.seedVolume(of: name), capacityBytes: 1 << 20, format: "raw").xml)
        let metadata = VMMetadata(
            image: image, flavor: nil, instanceID: VMs.newInstanceID(), hostname: name, accelerator: "tcg",
            created: "now", volumes: ["root": root.name, "seed": seed.name])
        let document = DomainDocument(
            type: .qemu, name: name, metadata: [metadata.element], maxMemoryKiB: 131_072, currentMemoryKiB: 131_072,
            maxVcpus: 1, vcpus: 1,
            disks: [.init(source: .volume(pool: VMCtlNames.storagePool, volume: root.name), format: "qcow2", target: "vda"),
                    .init(source: .volume(pool: VMCtlNames.storagePool, volume: seed.name), format: "raw", target: "vdb", isReadOnly: true)],
            interfaces: [.init(network: "default", mac: Networks.newMAC())])
        let domain = try session.connection.defineDomain(xml: document.xml)
        try domain.start()
        return [root.name, seed.name].sorted()
    }

    // MARK: Create

    /// The seed is made as a volume first and then uploaded: an upload that fails takes the volume with it.
    @Test func aSeedWhoseUploadFailsLeavesNoVolume() throws {
        let name = "orch-seed"
        remove([name])
        defer { remove([name]) }
        let error = try #require(throws: VMCtlError.self) {
            try instances.makeSeed(named: VMCtlNames.seedVolume(of: name), instanceID: VMs.newInstanceID(),
                                   hostname: name, sshKeys: [], runCommands: [])
        }
        // It failed after the volume existed, where the driver gives out: the cleanup had work to do.
        #expect(error.description.contains("cannot upload volume '\(VMCtlNames.seedVolume(of: name))'"), "\(error)")
        #expect(try volumes(of: name).isEmpty)
    }

    /// The same for an image import: a volume is made, the upload fails, the volume goes.
    @Test func anImageWhoseUploadFailsLeavesNoVolume() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("orch-\(UUID().uuidString).img").path
        try Data(count: 1 << 20).write(to: URL(fileURLWithPath: file))
        defer { unlink(file) }
        #expect(throws: (any Error).self) { try storage.importImage(file: try LocalFilePath(file, what: "image file"), name: "orch-import") }
        #expect(try storage.allVolumes().map(\.name).filter { $0.hasPrefix("image-orch-import.") }.isEmpty)
        #expect(try storage.images().map(\.name).contains("orch-import") == false)
    }

    /// The checks come before the first change: a refused create makes nothing at all.
    @Test func aRefusedCreateMakesNothing() throws {
        let name = "orch-refused"
        remove([name])
        defer { remove([name]) }
        var onMissingNetwork = try spec(name)
        onMissingNetwork.network = "orch-no-such-network"
        #expect(throws: VMCtlError.self) { try instances.create(onMissingNetwork, start: false, imageProvider: imageInfo) }
        var tooSmall = try spec(name)
        tooSmall.disk = .mebibytes(512)
        let error = #expect(throws: VMCtlError.self) { try instances.create(tooSmall, start: false, imageProvider: imageInfo) }
        #expect(error?.description.contains("is smaller than image") == true, "\(String(describing: error))")
        #expect(try volumes(of: name).isEmpty)
        #expect(!domainExists(name))
    }

    /// A create removes what an interrupted create of the same name left, and nothing of `NAME-2`.
    @Test func aCreateRemovesItsOwnLeftoversOnly() throws {
        let (name, neighbour) = ("orch-again", "orch-again-2")
        remove([name, neighbour])
        defer { remove([name, neighbour]) }
        try leaveVolumes(of: name, [VMCtlNames.rootVolume(of: name)])
        let neighbours = [VMCtlNames.rootVolume(of: neighbour), VMCtlNames.seedVolume(of: neighbour)].sorted()
        try leaveVolumes(of: neighbour, neighbours)

        // The step create takes once it holds the name's lock and saw no VM of that name (create itself
        // needs vmctl's SSH key first, in the user's home: not this test's business).
        #expect(try instances.removeLeftovers(of: name) == 1)
        #expect(notices.all.contains("removing '\(VMCtlNames.rootVolume(of: name))', left over from an interrupted create of '\(name)'"),
                "\(notices.all)")
        #expect(try volumes(of: name).isEmpty)
        #expect(try volumes(of: neighbour) == neighbours)
    }

    // MARK: Leftovers

    /// `delete web` with only web-2's leftovers present: an error, and web-2's volumes stay, as do those of an
    /// export of web-2 killed half way.
    @Test func deletingANameWithOnlyALongerNamesLeftoversIsAnErrorAndTouchesThemNot() throws {
        let (name, neighbour) = ("orch-web", "orch-web-2")
        remove([name, neighbour])
        defer { remove([name, neighbour]) }
        let neighbours = [VMCtlNames.rootVolume(of: neighbour), VMCtlNames.seedVolume(of: neighbour), "export-\(neighbour)-1234.qcow2"].sorted()
        try leaveVolumes(of: neighbour, neighbours)

        let error = #expect(throws: VMCtlError.self) { try instances.delete(name, keepDisks: false) }
        #expect(error?.description == "VM '\(name)' not found", "\(String(describing: error))")
        #expect(try volumes(of: neighbour) == neighbours)
        #expect(notices.all.isEmpty, "\(notices.all)")

        let leftovers = try instances.leftovers().filter { [name, neighbour].contains($0.owner) }
        #expect(leftovers.map(\.owner) == [neighbour, neighbour, neighbour])
        #expect(Set(leftovers.map(\.origin)) == [.create, .export])

        // Deleting web-2 means its leftovers: they go, and it is no error.
        try instances.delete(neighbour, keepDisks: false)
        #expect(try volumes(of: neighbour).isEmpty)
    }

    /// A VM that exists owns its volumes: they are never listed as leftovers.
    @Test func theVolumesOfAnExistingVMAreNoLeftovers() throws {
        let name = "orch-live"
        remove([name])
        defer { remove([name]) }
        let made = try assembleVM(name)
        #expect(try volumes(of: name) == made)
        #expect(try instances.leftovers().filter { $0.owner == name }.isEmpty)
    }
}

/// What VMs said while it worked; tests only read it after the call returned.
final class Notices: Sendable {
    private let lines = Mutex<[String]>([])
    func add(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

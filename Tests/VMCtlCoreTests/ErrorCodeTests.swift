import Foundation
import Libvirt
import LibvirtXML
import Testing
@testable import VMCtlCore

/// Errors say what kind of problem they are, so callers branch on the kind; a check that cannot be made
/// is an error, never a check that passed.
@Suite struct ErrorCodeTests {
    // virErrorNumber and virErrorDomain values (libvirt/virterror.h), which tests cannot import.
    static let internalError: Int32 = 1, noConnect: Int32 = 5, invalidArgument: Int32 = 8, xmlError: Int32 = 27
    static let domainExists: Int32 = 28, systemError: Int32 = 38, noDomain: Int32 = 42, noNetwork: Int32 = 43
    static let authFailed: Int32 = 45, noStorageVolume: Int32 = 50, operationInvalid: Int32 = 55
    static let operationTimeout: Int32 = 68, noSnapshot: Int32 = 72, resourceBusy: Int32 = 87, accessDenied: Int32 = 88
    static let storageVolumeExists: Int32 = 90
    static let fromRPC: Int32 = 7, fromQEMU: Int32 = 10

    static func code(_ number: Int32, from domain: Int32 = 0) -> VMCtlError.Code {
        VMCtlError.Code(LibvirtError(code: number, domain: domain, message: "m"))
    }

    @Test func libvirtErrorNumbersMapToCodes() {
        for number in [Self.noDomain, Self.noNetwork, Self.noStorageVolume, Self.noSnapshot] {
            #expect(Self.code(number) == .notFound)
        }
        #expect(Self.code(Self.domainExists) == .alreadyExists)
        #expect(Self.code(Self.storageVolumeExists) == .alreadyExists)
        #expect(Self.code(Self.operationInvalid) == .conflict)
        #expect(Self.code(Self.accessDenied) == .permission)
        #expect(Self.code(Self.authFailed) == .permission)
        #expect(Self.code(Self.resourceBusy) == .busy)
        #expect(Self.code(Self.operationTimeout) == .timedOut)
        #expect(Self.code(Self.xmlError) == .invalid)
        #expect(Self.code(Self.invalidArgument) == .invalid)
        #expect(Self.code(Self.internalError) == .failed)
    }

    @Test func aLostDaemonIsUnavailableButAFailedSystemCallOnTheHostIsNot() {
        #expect(Self.code(Self.noConnect) == .unavailable)
        // "Cannot recv data: Connection reset by peer", "client socket is closed": the RPC layer's.
        #expect(Self.code(Self.systemError, from: Self.fromRPC) == .unavailable)
        #expect(Self.code(Self.internalError, from: Self.fromRPC) == .unavailable)
        // A file the QEMU driver could not open is a failure there, not a missing daemon.
        #expect(Self.code(Self.systemError, from: Self.fromQEMU) == .failed)
    }

    @Test func theLibvirtWrapperKeepsTheKindAndTheError() throws {
        let connection = try Connection(uri: "test:///default")
        let error = try #require(throws: VMCtlError.self) {
            try libvirt("cannot find VM 'no-such-vm'") { try connection.lookupDomain(name: "no-such-vm") }
        }
        #expect(error.code == .notFound)
        #expect(error.libvirtError?.code == Self.noDomain)
        #expect(error.description.hasPrefix("cannot find VM 'no-such-vm': "))
        // Context added on top keeps both.
        let prefixed = error.prefixed("lab.yaml:3")
        #expect(prefixed.code == .notFound)
        #expect(prefixed.libvirtError == error.libvirtError)
        #expect(prefixed.description == "lab.yaml:3: " + error.description)

        let invalid = try #require(throws: VMCtlError.self) {
            try libvirt("cannot define VM") { try connection.defineDomain(xml: "<domain/>") }
        }
        #expect(invalid.code != .notFound)
    }

    @Test func onlyAnObjectThatVanishedIsSkipped() throws {
        let connection = try Connection(uri: "test:///default")
        // The checks read each listed object as libvirt("…") { unlessVanished { … } }: gone is nil…
        #expect(try libvirt("cannot find VM") { try unlessVanished { try connection.lookupDomain(name: "gone") } } == nil)
        // …and any other failure is an error the check stops on, never an object taken for absent.
        #expect(throws: VMCtlError.self) {
            try libvirt("cannot define VM") { try unlessVanished { try connection.defineDomain(xml: "<domain/>") } }
        }
    }

    @Test func systemCallFailuresTakeTheirKindFromErrno() {
        #expect(VMCtlError.system("cannot open 'x'", errno: ENOENT).code == .notFound)
        #expect(VMCtlError.system("cannot open 'x'", errno: EACCES).code == .permission)
        #expect(VMCtlError.system("cannot write 'x'", errno: EEXIST).code == .alreadyExists)
        #expect(VMCtlError.system("cannot lock 'x'", errno: EWOULDBLOCK).code == .busy)
        #expect(VMCtlError.system("cannot write 'x'", errno: EIO).code == .failed)
        #expect(VMCtlError.system("cannot open 'x'", errno: ENOENT).description == "cannot open 'x': No such file or directory")
    }

    @Test func adviceFollowsTheMessageAndAFrontEndMayReplaceIt() {
        let error = VMCtlError.conflict("network 'lab' has VMs attached (a, b)", advice: "delete them first", hint: .force)
        #expect(error.description == "network 'lab' has VMs attached (a, b); delete them first")
        let cli = error.advising("delete them or use --force")
        #expect(cli.description == "network 'lab' has VMs attached (a, b); delete them or use --force")
        #expect(cli.code == .conflict && cli.hint == .force)
        // Equal is the same kind and the same line.
        #expect(error == VMCtlError.conflict("network 'lab' has VMs attached (a, b)", advice: "delete them first"))
        #expect(error != VMCtlError.invalid("network 'lab' has VMs attached (a, b); delete them first"))
    }

    /// Core is reached from lab files too, which have no flags: its messages name none. Where a command's flag
    /// is the way past the error, it carries a hint the command turns into that flag (the CLI refuses
    /// `--linked --snapshot` and an empty resize itself, before core is asked).
    @Test func coreMessagesNameNoFlag() throws {
        let unusable = KVMStatus(isUsable: false, reason: "no vmx")
        let kvm = try #require(throws: VMCtlError.self) { try AcceleratorChoice.choose(.kvm, kvm: unusable) }
        #expect(kvm.description == "KVM is not usable: no vmx")
        #expect(kvm.code == .unavailable && kvm.hint == .accelerator)

        let state = ResizeState(isRunning: true, cpus: 1, maxCPUs: 4, memory: .mebibytes(512), maxMemory: .gibibytes(1), disk: .gibibytes(2))
        let nothing = try #require(throws: VMCtlError.self) { try ResizePlan.plan(ResizeRequest(), state: state) }
        #expect(nothing.code == .invalid)

        let linked = try #require(throws: VMCtlError.self) {
            try Clones.resolveMode(.linked, sourceIsRunning: false, sourceName: "s", snapshot: "before")
        }
        #expect(linked.code == .invalid)

        let mixed = try #require(throws: VMCtlError.self) {
            try SnapshotPlanTests.plan(running: true, diskOnly: true, existing: ["old": .internal])
        }
        #expect(mixed.code == .conflict && mixed.hint == .withoutDiskOnly)

        for error in [kvm, nothing, linked, mixed] { #expect(!error.description.contains("--"), "\(error)") }
    }

    @Test func aSnapshotWhoseDefinitionCannotBeReadIsNotDeletedBlindly() throws {
        let info = SnapshotPlanTests.named("a", parent: nil, created: "1")
        let refusal = try #require(SnapshotPlan.deleteRefusal(vm: "web", targets: [(info, "<domainsnapshot><name>a")],
                                                              all: [info], domain: SnapshotPlanTests.current))
        #expect(refusal.contains("its definition cannot be read"))
    }
}

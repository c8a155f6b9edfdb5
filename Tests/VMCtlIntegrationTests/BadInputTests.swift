import Testing

/// Each mistake gets one clear line on stderr, a non-zero exit, and leaves nothing behind.
@Suite(.serialized, .enabled(if: Harness.enabled, "set VMCTL_INTEGRATION=1 (make test does) to use the real libvirtd"))
struct BadInputTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let arguments: [String]
        let message: String
        var testDescription: String { message }
    }

    static let cases: [Case] = [
        Case(name: "bad-image", arguments: ["--image", "nosuch"], message: "image 'nosuch' not found"),
        Case(name: "bad-mem0", arguments: ["--memory", "0"], message: "invalid memory '0'"),
        Case(name: "bad-memabc", arguments: ["--memory", "abc"], message: "invalid size 'abc'"),
        Case(name: "bad-disk", arguments: ["--disk", "16M"], message: "is smaller than image 'tiny'"),
        Case(name: "bad-net", arguments: ["--network", "nosuchnet"], message: "network 'nosuchnet' not found"),
        Case(name: "bad-uri", arguments: ["--connect", "qemu:///system?socket=/run/vmctl-no-such.sock"],
             message: "parameter 'socket' is not allowed"),
        Case(name: "bad-flavor", arguments: ["--flavor", "huge"], message: "flavor 'huge' not found"),
    ]

    @Test(arguments: cases)
    func createIsRefused(_ testCase: Case) throws {
        let result = try Harness.vmctl(["create", testCase.name, "--start"] + testCase.arguments)
        try expectRefused(result, testCase.message)
        #expect(try !Harness.domainExists(testCase.name))
        #expect(try Harness.volumes(of: testCase.name).isEmpty)
    }

    @Test(arguments: ["bad name", "trail-", "semi;colon", "quote'd", "$(id)"])
    func invalidNamesAreRefused(_ name: String) throws {
        try expectRefused(try Harness.vmctl("create", name), "invalid VM name")
    }

    @Test func duplicateNameKeepsTheFirstVMIntact() throws {
        let name = "dup-1"
        try Harness.removeIfPresent(name)
        defer { _ = try? Harness.vmctl("delete", name) }
        #expect(try Harness.vmctl("create", name).status == 0)
        let volumesBefore = try Harness.volumes(of: name)
        let uuidBefore = try Harness.virsh("domuuid", name).trimmed
        try expectRefused(try Harness.vmctl("create", name, "--memory", "1G"), "VM '\(name)' already exists")
        #expect(try Harness.volumes(of: name) == volumesBefore)
        #expect(try Harness.virsh("domuuid", name).trimmed == uuidBefore)
    }

    @Test func commandsOnUnknownVMsNameIt() throws {
        for command in ["start", "stop", "delete", "info", "ip"] {
            try expectRefused(try Harness.vmctl(command, "no-such-vm"), "VM 'no-such-vm' not found")
        }
    }

    private func expectRefused(_ result: Harness.Result, _ message: String) throws {
        #expect(result.status != 0)
        #expect(result.stderrLines.count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
        #expect(result.stdout.isEmpty)
    }
}

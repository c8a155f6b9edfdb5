import Foundation
import Testing
import VMCtlCore

/// Lab files from someone else, run through the real binary as root: they name hosts, never programs or host
/// files, and a lab the firewall could not hold fails its plan and changes nothing.
@Suite(.serialized, .enabled(if: Harness.enabled, "set VMCTL_INTEGRATION=1 (make test does) to use the real libvirtd"))
struct LabTrustTests {
    /// A folder of lab files for one test, removed after it.
    struct Folder {
        let root = NSTemporaryDirectory() + "lab-trust-\(UUID().uuidString)"

        func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
            let path = root + "/" + name
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
            return path
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    static func expectOneLineRefusal(_ result: Harness.Result, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 1, "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderrLines.count == 1, "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("Error: ") && result.stderr.contains(message), "\(result)", sourceLocation: sourceLocation)
    }

    @Test func aLabURIRunsNoProgram() throws {
        let folder = Folder()
        defer { folder.remove() }
        let marker = folder.root + "/ran"
        let script = try folder.write("x.sh", "#!/bin/sh\ntouch \(marker)\n", mode: 0o755)
        let lab = try folder.write("lab.yaml", """
            version: 1
            kind: Lab
            name: lab-ext
            uri: "qemu+ext:///system?command=\(script)"

            """)
        Self.expectOneLineRefusal(try Harness.vmctl("plan", lab), "lab.yaml:4: uri: invalid libvirt URI")
        #expect(!FileManager.default.fileExists(atPath: marker), "plan ran \(script)")

        // The same rule for the command line and the environment.
        let uri = "qemu+ssh://lab1/system?command=\(script)"
        Self.expectOneLineRefusal(try Harness.vmctl("list", "--connect", uri), "--connect: invalid libvirt URI")
        Self.expectOneLineRefusal(try Harness.run("/usr/bin/env", ["VMCTL_CONNECT=\(uri)", Harness.vmctlPath, "list"]),
                                  "$VMCTL_CONNECT: invalid libvirt URI")
        #expect(!FileManager.default.fileExists(atPath: marker), "a URI ran \(script)")
    }

    @Test func aLabSendsNoHostFileIntoAGuest() throws {
        let folder = Folder()
        defer { folder.remove() }
        _ = try folder.write("outside.txt", "secret\n")
        for source in ["/etc/shadow", "../outside.txt"] {
            let lab = try folder.write("lab/lab.yaml", """
                version: 1
                kind: Lab
                name: lab-src
                ---
                version: 1
                kind: Domain
                name: lab-src
                spec:
                  user-data:
                    files: [{path: /root/x, source: "\(source)"}]

                """)
            Self.expectOneLineRefusal(try Harness.vmctl("plan", lab), "lab.yaml:10: spec.user-data.files[0].source:")
        }
        #expect(try !Harness.domainExists("lab-src"))
    }

    static let isolatedRouter = """
        version: 1
        kind: Lab
        name: lab-isorouter
        ---
        version: 1
        kind: Network
        name: lab-nat
        spec: {subnet: 10.131.0.0/24}
        ---
        version: 1
        kind: Network
        name: lab-iso
        spec: {subnet: 10.132.0.0/24, mode: isolated}
        ---
        version: 1
        kind: Router
        name: lab-rt
        spec: {networks: [lab-nat, lab-iso]}
        ---
        version: 1
        kind: Domain
        name: lab-iso-vm
        spec: {memory: 128M, networks: [lab-iso]}

        """

    @Test func aLabTheFirewallCannotHoldFailsItsPlanAndApplyChangesNothing() throws {
        let folder = Folder()
        defer {
            folder.remove()
        }
        let lab = try folder.write("lab.yaml", Self.isolatedRouter)
        defer { _ = try? Harness.vmctl("destroy", lab) }
        // Other suites make and remove networks meanwhile: only the lab's own are this test's to check.
        func labNetworks() throws -> Set<String> {
            let names = try Harness.virsh("net-list", "--all", "--name").stdout.split(separator: "\n").map(String.init)
            return Set(names).intersection(["lab-nat", "lab-iso"])
        }
        let networksBefore = try labNetworks()
        let conflict = "router 'lab-rt' cannot join isolated network 'lab-iso'"
        Self.expectOneLineRefusal(try Harness.vmctl("plan", lab), conflict)
        Self.expectOneLineRefusal(try Harness.vmctl("apply", lab, "--timeout", "60"), conflict)
        #expect(try labNetworks() == networksBefore)
        #expect(try !Harness.domainExists("lab-iso-vm"))
        #expect(try !Harness.vmctl("router", "list").stdout.contains("lab-rt"))
        let destroy = try Harness.vmctl("destroy", lab)
        #expect(destroy.status == 0, "\(destroy)")
    }

    @Test func theControlNetworkNameIsRefusedInALab() throws {
        let folder = Folder()
        defer { folder.remove() }
        let lab = try folder.write("lab.yaml", """
            version: 1
            kind: Lab
            name: lab-ctl
            ---
            version: 1
            kind: Network
            name: vmctl-control
            spec: {subnet: 10.133.0.0/24}

            """)
        Self.expectOneLineRefusal(try Harness.vmctl("plan", lab), "lab.yaml:7: name: 'vmctl-control' is reserved")
        Self.expectOneLineRefusal(try Harness.vmctl("apply", lab), "'vmctl-control' is reserved")
        // Other suites change the control state meanwhile; what must hold is that the lab did not make the
        // network its own: no lab subnet, no lab ownership, vmctl's state still in it.
        let dump = try Harness.virsh("net-dumpxml", "vmctl-control", "--inactive")
        guard dump.status == 0 else {
            #expect(dump.stderr.contains("no network with matching name"), "\(dump)")
            return
        }
        #expect(!dump.stdout.contains("10.133.0."), "\(dump)")
        #expect(!dump.stdout.contains("lab-ctl"), "\(dump)")
        #expect(dump.stdout.contains(VMCtlNames.metadataNamespace), "\(dump)")
    }

    /// A lab whose router was left joining an isolated network (by `router add` on an older vmctl, or a half
    /// applied lab): every firewall update fails until the router goes, so destroy removes routers first and
    /// finishes in one run.
    @Test func destroyOfAHalfAppliedLabFinishes() throws {
        let folder = Folder()
        defer { folder.remove() }
        let lab = try folder.write("lab.yaml", """
            version: 1
            kind: Lab
            name: lab-half
            ---
            version: 1
            kind: Network
            name: lab-hnat
            spec: {subnet: 10.134.0.0/24}
            ---
            version: 1
            kind: Network
            name: lab-hiso
            spec: {subnet: 10.135.0.0/24, mode: isolated}
            ---
            version: 1
            kind: Router
            name: lab-hrt
            spec: {networks: [lab-hnat]}
            ---
            version: 1
            kind: Domain
            name: lab-hvm
            spec: {memory: 128M, networks: [lab-hnat]}

            """)
        defer {
            _ = try? Harness.vmctl("router", "remove", "lab-hrt", "lab-hiso")
            _ = try? Harness.vmctl("destroy", lab)
        }
        let applied = try Harness.vmctl("apply", lab, "--timeout", "240")
        #expect(applied.status == 0, "\(applied)")
        // What an older vmctl let through: the router's state is saved, the firewall refuses it.
        _ = try Harness.vmctl("router", "add", "lab-hrt", "lab-hiso")
        let destroy = try Harness.vmctl("destroy", lab)
        #expect(destroy.status == 0, "\(destroy)")
        #expect(!destroy.stderr.contains("did not finish"), "\(destroy)")
        #expect(try !Harness.domainExists("lab-hvm"))
        #expect(try Harness.volumes(of: "lab-hvm").isEmpty)
        let networks = try Harness.virsh("net-list", "--all", "--name").stdout.split(separator: "\n").map(String.init)
        #expect(!networks.contains("lab-hnat") && !networks.contains("lab-hiso"), "\(networks)")
        #expect(try !Harness.vmctl("router", "list").stdout.contains("lab-hrt"))
        #expect(try Harness.vmctl("net", "reconcile").status == 0)
    }
}

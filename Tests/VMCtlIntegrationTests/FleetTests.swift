import Foundation
import Testing
import VMCtlCore

/// The seeds' labs brought up from the repository's files with `vmctl apply`, checked from inside the guests
/// (and from the neighbour host where the firewall makes floating IPs and forwards work), applied again (no
/// change), edited, resized, destroyed.
@Suite(.serialized, .enabled(if: Harness.enabled, "set VMCTL_INTEGRATION=1 (make test does) to boot real guests"))
struct LabTests {
    /// A copy of the repository's lab files that a test may edit.
    struct LabCopy {
        let root: String

        init() throws {
            root = NSTemporaryDirectory() + "vmctl-fleet-it-\(UUID().uuidString)"
            for folder in ["labs", "networks", "domains"] {
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: Harness.repositoryRoot + "/" + folder, toPath: root + "/" + folder)
            }
        }

        init(files: [String: String]) throws {
            root = NSTemporaryDirectory() + "vmctl-fleet-it-\(UUID().uuidString)"
            for (name, text) in files {
                let path = root + "/" + name
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try text.write(toFile: path, atomically: true, encoding: .utf8)
            }
        }

        func lab(_ name: String) -> String { root + "/labs/\(name).yaml" }

        func edit(_ file: String, replacing old: String, with new: String) throws {
            let path = root + "/" + file
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.contains(old), "\(file) has no '\(old)'")
            try text.replacingOccurrences(of: old, with: new).write(toFile: path, atomically: true, encoding: .utf8)
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    static func apply(_ lab: String, _ extra: String...) throws -> Harness.Result {
        try Harness.run(Harness.vmctlPath, ["apply", lab, "--parallel", "4", "--timeout", "240"] + extra)
    }

    static func ssh(_ vm: String, _ command: String) throws -> Harness.Result { try Harness.vmctl("ssh", vm, "--", command) }

    static func post(from vm: String, _ body: String, to url: String) throws -> String {
        try ssh(vm, "timeout 10 wget -qO- --post-data '\(body)' \(url)").trimmed
    }

    /// Nothing of these VMs and networks is left: no domain, volume, network or DHCP reservation.
    static func expectGone(vms: [String], networks: [String]) throws {
        let domains = try Harness.virsh("list", "--all", "--name").stdout.split(separator: "\n").map(String.init)
        for vm in vms {
            #expect(!domains.contains(vm), "domain \(vm) left")
            #expect(try Harness.volumes(of: vm).isEmpty, "volumes of \(vm) left")
        }
        let nets = try Harness.virsh("net-list", "--all", "--name").stdout.split(separator: "\n").map(String.init)
        for network in networks { #expect(!nets.contains(network), "network \(network) left") }
    }

    static func planSummary(_ lab: String) throws -> (status: Int32, lines: [String]) {
        let plan = try Harness.vmctl("plan", lab)
        return (plan.status, plan.stdout.split(separator: "\n").map(String.init))
    }

    static func expectSuccess(_ result: Harness.Result, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
    }

    @Test func edgeClusterAppliesResizesSnapshotsAndDestroys() throws {
        let copy = try LabCopy()
        let lab = copy.lab("edge-cluster")
        let members = ["edge-master", "edge-worker-1", "edge-worker-2"]
        defer {
            _ = try? Harness.vmctl("destroy", lab)
            copy.remove()
        }
        _ = try Harness.vmctl("destroy", lab)

        let first = try Self.apply(lab)
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        #expect(first.stdout.contains("apply edge-cluster: 4 created, 0 updated, 0 replaced, 0 deleted, 0 unchanged"), "\(first.stdout)")

        // Every node reaches the others by name (libvirt's dnsmasq knows each pinned host). No `wget -T`:
        // the tiny image's busybox wget crashes with it.
        #expect(try Self.ssh("edge-master", "wget -qO- http://edge-worker-1:5000/").trimmed == #"{"hello":"world"}"#)
        #expect(try Self.ssh("edge-master", "wget -qO- http://edge-worker-2.edge:5000/").trimmed == #"{"hello":"world"}"#)
        #expect(try Self.ssh("edge-worker-2", "ping -c 1 -W 3 edge-master.edge >/dev/null && echo ok").trimmed == "ok")

        // Again: nothing to do, nothing touched.
        let uuids = try members.map { try Harness.virsh("domuuid", $0).trimmed }
        let again = try Self.apply(lab)
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.contains("lab edge-cluster: 0 to create, 0 to update, 0 to replace, 0 to delete, 4 unchanged"), "\(again.stdout)")
        #expect(try members.map { try Harness.virsh("domuuid", $0).trimmed } == uuids)
        #expect(try Self.planSummary(lab).status == 0)

        let status = try Harness.vmctl("status", lab, "--json")
        #expect(status.status == 0, "\(status.stdout)")
        let report = try status.decode(LabStatus.self)
        #expect(report.members.map(\.name) == members)
        #expect(report.members.allSatisfy { $0.ready && $0.state == "running" && ($0.address?.hasPrefix("10.105.0.") ?? false) })

        // Memory in the file: one update, applied live.
        try copy.edit("domains/edge-cluster.yaml", replacing: "  memory: 512M", with: "  memory: 768M")
        let edited = try Self.planSummary(lab)
        #expect(edited.status == 2)
        #expect(edited.lines.filter { !$0.hasPrefix("lab ") } == ["~   domain edge-master  update: memory 512M → 768M (live)"], "\(edited.lines)")
        #expect(edited.lines.last == "lab edge-cluster: 0 to create, 1 to update, 0 to replace, 0 to delete, 3 unchanged")
        let resized = try Self.apply(lab)
        #expect(resized.status == 0, "\(resized.stderr)")
        #expect(try Harness.virsh("dumpxml", "edge-master", "--inactive").stdout.contains("<currentMemory unit='KiB'>786432</currentMemory>"))
        #expect(try Self.planSummary(lab).status == 0)

        // The whole lab snapshotted and the snapshot deleted, at once.
        let snapshot = try Harness.vmctl("snapshot", "create", "--lab", lab, "before")
        #expect(snapshot.status == 0, "\(snapshot.stderr)")
        #expect(snapshot.stdout.split(separator: "\n").count == 3)
        let snapshotDeleted = try Harness.vmctl("snapshot", "delete", "--lab", lab, "before")
        #expect(snapshotDeleted.status == 0, "\(snapshotDeleted.stderr)")

        // A member removed from the files (count 2 → 1) is deleted; only it.
        try copy.edit("domains/edge-cluster.yaml", replacing: "count: 2", with: "count: 1")
        let shrunk = try Self.apply(lab)
        #expect(shrunk.status == 0, "\(shrunk)")
        #expect(shrunk.stdout.contains("-   domain edge-worker-2  delete"), "\(shrunk.stdout)")
        try Self.expectGone(vms: ["edge-worker-2"], networks: [])
        #expect(try Harness.domainExists("edge-worker-1"))

        let destroyed = try Harness.vmctl("destroy", lab)
        #expect(destroyed.status == 0, "\(destroyed.stderr)")
        try Self.expectGone(vms: members, networks: ["fl-edge"])
        #expect(try Self.planSummary(lab).lines.last == "lab edge-cluster: 3 to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged")
    }

    @Test func calculatorAnswersThroughItsOperationVMs() throws {
        let copy = try LabCopy()
        let lab = copy.lab("calculator")
        let members = ["sum", "sub", "mul", "div", "calculator"]
        defer {
            _ = try? Harness.vmctl("destroy", lab)
            copy.remove()
        }
        _ = try Harness.vmctl("destroy", lab)

        let applied = try Self.apply(lab)
        #expect(applied.status == 0, "apply calculator: \(applied.stdout)\n\(applied.stderr)")
        for vm in members { #expect(try Harness.domainExists(vm)) }

        // The operation services, as the lab's client on the same network called them.
        #expect(try Self.post(from: "calculator", "5 6", to: "http://sum:50001/") == "11")
        #expect(try Self.post(from: "calculator", "5 6", to: "http://sub.calc:50002/") == "-1")
        #expect(try Self.post(from: "calculator", "5 6", to: "http://10.100.0.13:50003/") == "30")
        #expect(try Self.post(from: "calculator", "5 6", to: "http://10.100.0.14:50004/") == "0.8333333333333334")
        // The calculator evaluates by calling them.
        #expect(try Self.post(from: "sum", "(5+6)*2", to: "http://calculator/") == "result = 22")
        #expect(try Self.post(from: "sum", "10/4-1", to: "http://10.100.0.10/") == "result = 1.5")

        let status = try Harness.vmctl("status", lab, "--json").decode(LabStatus.self)
        let floating = try #require(status.members.first { $0.name == "calculator" }?.floatingIP)
        let sumFloating = try #require(status.members.first { $0.name == "sum" }?.floatingIP)
        let outside = try Harness.outside("curl", "-s", "-m", "10", "-d", "(5+6)*2", "http://\(floating)/")
        #expect(outside.trimmed == "result = 22")
        #expect(try Harness.outside("curl", "-s", "-m", "10", "-d", "5 6", "http://\(sumFloating):50001/").trimmed == "11")
        let again = try Self.apply(lab)
        #expect(again.stdout.contains("0 to create, 0 to update, 0 to replace, 0 to delete, 8 unchanged"), "\(again.stdout)")

        // Memory of one operation VM: one live update; the service keeps answering.
        try copy.edit("domains/calculator.yaml", replacing: "name: div\nspec:\n  memory: 256M", with: "name: div\nspec:\n  memory: 384M")
        let edited = try Self.planSummary(lab)
        #expect(edited.lines.contains("~   domain div  update: memory 256M → 384M (live)"), "\(edited.lines)")
        #expect(edited.lines.filter { $0.hasPrefix("~") || $0.hasPrefix("+") || $0.hasPrefix("-") }.count == 1, "\(edited.lines)")
        _ = try Self.apply(lab)
        #expect(try Harness.virsh("dumpxml", "div", "--inactive").stdout.contains("<currentMemory unit='KiB'>393216</currentMemory>"))
        #expect(try Self.post(from: "calculator", "5 6", to: "http://10.100.0.14:50004/") == "0.8333333333333334")

        let destroyed = try Harness.vmctl("destroy", lab)
        #expect(destroyed.status == 0, "\(destroyed.stderr)")
        try Self.expectGone(vms: members, networks: ["fl-calc"])
        #expect(!(try Harness.vmctl("fip", "pool", "list").stdout.contains("fl-calc-ext")))
        #expect(!(try Harness.vmctl("secgroup", "list").stdout.contains("fl-calc-web")))
    }

    @Test func secureCalculatorAnswersOutsideOnlyThroughTheCalculator() throws {
        let lab = Harness.repositoryRoot + "/labs/calculator-secure.yaml"
        defer { _ = try? Harness.vmctl("destroy", lab) }
        let applied = try Self.apply(lab)
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(try Self.post(from: "sec-calculator", "2 3", to: "http://10.101.0.11:50001/") == "5")
        let status = try Harness.vmctl("status", lab, "--json").decode(LabStatus.self)
        let floating = try #require(status.members.first { $0.name == "sec-calculator" }?.floatingIP)
        #expect(try Harness.outside("curl", "-s", "-m", "10", "-d", "(5+6)*2", "http://\(floating)/").trimmed == "result = 22")
        #expect(try Harness.outside("ip", "route", "replace", "10.101.0.0/24", "via", "198.51.100.1").status == 0)
        defer { _ = try? Harness.outside("ip", "route", "del", "10.101.0.0/24") }
        #expect(try Harness.outside("curl", "-s", "-m", "3", "-d", "5 6", "http://10.101.0.11:50001/").status != 0)
        try Self.expectSuccess(Harness.vmctl("destroy", lab))
        try Self.expectGone(vms: ["sec-sum", "sec-sub", "sec-mul", "sec-div", "sec-calculator"], networks: ["fl-calcs-ops", "fl-calcs-front"])
    }

    @Test func scriptedTopologyJoinsItsNetworksThroughTheRouter() throws {
        let lab = Harness.repositoryRoot + "/labs/scripted-topology.yaml"
        defer { _ = try? Harness.vmctl("destroy", lab) }
        let applied = try Self.apply(lab)
        #expect(applied.status == 0, "\(applied.stderr)")
        let status = try Harness.vmctl("status", lab, "--json").decode(LabStatus.self)
        let instance = try #require(status.members.first { $0.name == "topo-instance-1" }?.address)
        let last = Int(instance.split(separator: ".").last ?? "") ?? 0
        #expect((100...200).contains(last), "address \(instance) outside the allocation pool")
        #expect(try Self.ssh("topo-peer", "ping -c 1 -W 3 \(instance) >/dev/null && echo ok").trimmed == "ok")
        try Self.expectSuccess(Harness.vmctl("destroy", lab))
        try Self.expectGone(vms: ["topo-instance-1", "topo-instance-2", "topo-peer"], networks: ["fl-topo-test1", "fl-topo-test2"])
    }

    @Test func virtualBoxNatForwardsSSHFromPort2222() throws {
        let lab = Harness.repositoryRoot + "/labs/virtualbox-nat.yaml"
        defer { _ = try? Harness.vmctl("destroy", lab) }
        let applied = try Self.apply(lab)
        #expect(applied.status == 0, "\(applied.stderr)")
        let ssh = ["ssh", "-i", SSHKeyStore().privateKeyPath, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                   "-o", "ConnectTimeout=5", "-o", "BatchMode=yes", "-p", "2222"]
        #expect(try Harness.run(Harness.repositoryRoot + "/scripts/outside", ssh + ["root@198.51.100.1", "hostname"]).trimmed == "osboxes")

        // A VM whose create was killed before its address was reserved: the next apply reserves the address
        // the guest holds, and the forward keeps answering.
        let reservation = try Harness.virsh("net-dumpxml", "fl-vbox").stdout.split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix("<host mac=") && $0.contains("osboxes") }
        let host = try #require(reservation)
        #expect(try Harness.virsh("net-update", "fl-vbox", "delete", "ip-dhcp-host", host, "--live", "--config").status == 0)
        let plan = try Self.planSummary(lab)
        #expect(plan.status == 2)
        #expect(plan.lines.contains { $0.contains("reserve an address on fl-vbox") }, "\(plan.lines)")
        try Self.expectSuccess(Self.apply(lab))
        let restored = try Harness.virsh("net-dumpxml", "fl-vbox").stdout
        #expect(restored.contains(host), "\(restored)")
        #expect(try Self.planSummary(lab).status == 0)
        #expect(try Harness.run(Harness.repositoryRoot + "/scripts/outside", ssh + ["root@198.51.100.1", "hostname"]).trimmed == "osboxes")

        try Self.expectSuccess(Harness.vmctl("destroy", lab))
        try Self.expectGone(vms: ["osboxes"], networks: ["fl-vbox"])
    }

    static let killLab: [String: String] = [
        "labs/fl-kill.yaml": "version: 1\nkind: Lab\nname: fl-kill\nspec:\n  include: [../fleet.yaml]\n",
        "fleet.yaml": """
            version: 1
            kind: Network
            name: fl-kill
            spec:
              subnet: 10.115.0.0/24
              dhcp: 10.115.0.100-10.115.0.120
            ---
            version: 1
            kind: Domain
            name: fl-kill
            spec:
              count: 3
              memory: 192M
              networks: [fl-kill]
              ready: ssh
            """,
    ]

    @Test func killedApplyConvergesWithoutDuplicatesOrOrphans() throws {
        let copy = try LabCopy(files: Self.killLab)
        let lab = copy.lab("fl-kill")
        let members = ["fl-kill-1", "fl-kill-2", "fl-kill-3"]
        defer {
            _ = try? Harness.vmctl("destroy", lab)
            copy.remove()
        }
        _ = try Harness.vmctl("destroy", lab)

        // Killed as soon as the first VM is defined: others are half made or not started.
        let process = try Harness.start([Harness.vmctlPath, "apply", lab, "--parallel", "2"])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try !members.contains(where: { try Harness.domainExists($0) }) { Thread.sleep(forTimeInterval: 0.05) }
        process.signal(SIGKILL)
        process.wait()

        // Two applies at once: the second waits for the first's lock, they do not interleave.
        let background = try Harness.start([Harness.vmctlPath, "apply", lab], stderr: .capture)
        let rerun = try Self.apply(lab)
        let backgroundResult = background.finish()
        let backgroundText = String(decoding: backgroundResult.errorOutput, as: UTF8.self)
        #expect(rerun.status == 0, "\(rerun.stdout)\n\(rerun.stderr)")
        #expect(backgroundResult.status == 0, "\(backgroundText)")
        #expect(rerun.stderr.contains("waiting for it to finish") || backgroundText.contains("waiting for it to finish"))

        // Exactly the three members, each with its two volumes and one reservation; nothing left to do.
        let domains = try Harness.virsh("list", "--all", "--name").stdout.split(separator: "\n").map(String.init)
        #expect(domains.filter { $0.hasPrefix("fl-kill") }.sorted() == members)
        for vm in members {
            let volumes = try Harness.volumes(of: vm)
            #expect(volumes.count == 2, "\(vm): \(volumes)")
        }
        let reservations = try Harness.virsh("net-dumpxml", "fl-kill").stdout.components(separatedBy: "<host mac=").count - 1
        #expect(reservations == 3)
        #expect(try Self.planSummary(lab).status == 0)
        for vm in members { #expect(try Self.ssh(vm, "hostname").trimmed == vm) }

        try Self.expectSuccess(Harness.vmctl("destroy", lab))
        try Self.expectGone(vms: members, networks: ["fl-kill"])
    }

    @Test func badFilesCreateNothing() throws {
        var files = Self.killLab
        files["fleet.yaml"] = files["fleet.yaml"]!.replacingOccurrences(of: "networks: [fl-kill]", with: "networks: [fl-kill-nope]")
        let copy = try LabCopy(files: files)
        defer { copy.remove() }
        let lab = copy.lab("fl-kill")
        let applied = try Self.apply(lab)
        #expect(applied.status == 1)
        #expect(applied.stderr.contains("fleet.yaml:14: spec.networks[0]: network 'fl-kill-nope' is neither in the lab nor on qemu:///system"), "\(applied.stderr)")
        try Self.expectGone(vms: ["fl-kill-1", "fl-kill-2", "fl-kill-3"], networks: ["fl-kill"])

        try copy.edit("fleet.yaml", replacing: "memory: 192M", with: "memroy: 192M")
        let unknown = try Self.apply(lab)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("fleet.yaml:13: spec.memroy: unknown key"), "\(unknown.stderr)")
        try Self.expectGone(vms: ["fl-kill-1"], networks: ["fl-kill"])
    }
}

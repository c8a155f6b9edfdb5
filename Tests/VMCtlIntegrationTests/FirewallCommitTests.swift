import Foundation
import Testing
import VMCtlCore

/// The firewall can never be poisoned: changes that cannot be rendered are refused before anything is
/// saved, state broken from outside costs only its own rules, reads fail closed, concurrent changes both
/// land or exactly one wins, and a deleted VM leaves nothing bound to its name. VMs here are created
/// stopped (their address is reserved at create), except where a start is what is checked.
@Suite(.serialized, .enabled(if: Harness.enabled, "set VMCTL_INTEGRATION=1 (make test does) to boot real guests"))
struct FirewallCommitTests {
    static func expectRefused(_ result: Harness.Result, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status != 0, "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderrLines.count == 1, "one error line: \(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(fragment), "\(result)", sourceLocation: sourceLocation)
    }

    static func reconciles(sourceLocation: SourceLocation = #_sourceLocation) throws -> Harness.Result {
        let result = try Harness.vmctl("net", "reconcile")
        #expect(result.status == 0, "net reconcile: \(result)", sourceLocation: sourceLocation)
        return result
    }

    static func liveTable() throws -> String { try Harness.host("nft", "list", "table", "ip", "vmctl").stdout }

    /// An interface of its own in libvirtd's namespace for floating IPs (an empty bridge: the kernel here
    /// has no dummy driver), so nothing is ever sent from their addresses.
    static let dummy = "fwc-dum0"

    /// Runs `body` with pool `pool` (addresses `range`) on that interface, one of its addresses associated
    /// with the new, stopped VM `vm`; removes all of it afterwards, whatever `body` left.
    static func withAssociatedAddress(pool: String, range: String, vm: String, _ body: (String) throws -> Void) throws {
        func removeAll() {
            _ = try? Harness.vmctl("delete", vm)
            for entry in (try? Harness.vmctl("fip", "list", "--json").decode([FloatingIPs.Entry].self)) ?? [] where entry.pool == pool {
                _ = try? Harness.vmctl("fip", "disassociate", entry.address.description)
                _ = try? Harness.vmctl("fip", "release", entry.address.description)
            }
            _ = try? Harness.vmctl("fip", "pool", "delete", pool)
            _ = try? Harness.host("ip", "link", "del", dummy)
        }
        removeAll()
        defer { removeAll() }
        #expect(try Harness.host("ip", "link", "add", dummy, "type", "bridge").status == 0)
        #expect(try Harness.host("ip", "link", "set", dummy, "up").status == 0)
        let created = try Harness.vmctl("fip", "pool", "create", pool, "--interface", dummy, "--range", range)
        try #require(created.status == 0, "\(created)")
        let address = try Harness.vmctl("fip", "allocate", pool).trimmed
        let vmCreated = try Harness.vmctl("create", vm)
        try #require(vmCreated.status == 0, "\(vmCreated)")
        let associated = try Harness.vmctl("fip", "associate", address, vm)
        #expect(associated.status == 0, "\(associated)")
        try body(address)
    }

    @Test func aCloneDoesNotTakeItsSourcesForwardsAndStartsWithTheFirewallIntact() throws {
        let source = "fwc-src", clone = "fwc-cln"
        func removeAll() {
            _ = try? Harness.vmctl("delete", clone)
            _ = try? Harness.vmctl("delete", source)
        }
        removeAll()
        defer { removeAll() }
        #expect(try Harness.vmctl("create", source).status == 0)
        #expect(try Harness.vmctl("forward", "add", source, "--host-port", "2291", "--guest-port", "22").status == 0)

        let cloned = try Harness.vmctl("clone", source, clone)
        #expect(cloned.status == 0, "\(cloned)")
        #expect(cloned.stderr.contains("tcp-2291"), "the clone says which forwards it left out: \(cloned)")
        #expect(try Harness.vmctl("forward", "list", clone, "--json").decode([PortForward].self).isEmpty)
        #expect(try Harness.vmctl("forward", "list", source, "--json").decode([PortForward].self).map(\.hostPort) == [2291])
        _ = try Self.reconciles()
        let started = try Harness.vmctl("start", clone)
        #expect(started.status == 0, "\(started)")
        _ = try Self.reconciles()
    }

    @Test func concurrentChangesOfOnePortLetExactlyOneInAndChangesOfOneVMBothLand() throws {
        let a = "fwc-c1", b = "fwc-c2"
        let groups = ["fwc-p1", "fwc-p2", "fwc-p3"]
        func removeAll() {
            _ = try? Harness.vmctl("delete", a)
            _ = try? Harness.vmctl("delete", b)
            for group in groups { _ = try? Harness.vmctl("secgroup", "delete", group) }
        }
        removeAll()
        defer { removeAll() }
        #expect(try Harness.vmctl("create", a).status == 0)
        #expect(try Harness.vmctl("create", b).status == 0)
        for group in groups { #expect(try Harness.vmctl("secgroup", "create", group).status == 0) }

        var said: [String] = []
        func together(_ commands: [[String]]) throws -> [Int32] {
            let processes = try commands.map { try ChildProcess([Harness.vmctlPath] + $0) }
            let results = processes.map { $0.finish() }
            said = results.map { String(decoding: $0.errorOutput, as: UTF8.self) }
            return results.map(\.status)
        }
        for port in [2292, 2293, 2294] {
            let statuses = try together([["forward", "add", a, "--host-port", "\(port)", "--guest-port", "22"],
                                         ["forward", "add", b, "--host-port", "\(port)", "--guest-port", "22"]])
            #expect(statuses.filter { $0 == 0 }.count == 1, "port \(port): exit statuses \(statuses), errors \(said)")
            let holders = try Harness.vmctl("forward", "list", "--json").decode([PortForward].self).filter { $0.hostPort == port }
            #expect(holders.count == 1, "port \(port) is forwarded once: \(holders)")
        }
        _ = try Self.reconciles()

        for (index, group) in groups.enumerated() {
            let port = 2295 + index
            let statuses = try together([["forward", "add", a, "--host-port", "\(port)", "--guest-port", "80"],
                                         ["secgroup", "attach", a, group]])
            #expect(statuses == [0, 0], "\(statuses), errors \(said)")
            #expect(try Harness.vmctl("forward", "list", a, "--json").decode([PortForward].self).contains { $0.hostPort == port },
                    "the forward landed next to the attach")
            #expect(try Harness.virsh("dumpxml", a).stdout.contains(">\(group)<"), "the attach landed next to the forward")
        }
    }

    @Test func aDeletedVMLeavesItsFloatingIPAllocatedButBoundToNothing() throws {
        let vm = "fwc-web"
        try Self.withAssociatedAddress(pool: "fwc-pool1", range: "203.0.113.200-203.0.113.201", vm: vm) { address in
            #expect(try Self.liveTable().contains(address))

            #expect(try Harness.vmctl("delete", vm).status == 0)
            #expect(try Harness.vmctl("create", vm).status == 0)
            let entry = try Harness.vmctl("fip", "list", "--json").decode([FloatingIPs.Entry].self).first { $0.address.description == address }
            #expect(entry != nil, "the address stays allocated to the project")
            #expect(entry?.vm == nil, "the new '\(vm)' is another VM: \(String(describing: entry))")
            #expect(try !Self.liveTable().contains(address))
        }
    }

    @Test func aPoolWhoseInterfaceVanishedCostsOnlyItsOwnRules() throws {
        let vm = "fwc-drift", pool = "fwc-pool2"
        try Self.withAssociatedAddress(pool: pool, range: "203.0.113.202-203.0.113.202", vm: vm) { address in
            #expect(try Harness.host("ip", "link", "del", Self.dummy).status == 0)
            let reconciled = try Self.reconciles()
            #expect(reconciled.stderr.contains("pool '\(pool)'"), "the warning names the pool: \(reconciled)")
            let added = try Harness.vmctl("forward", "add", vm, "--host-port", "2298", "--guest-port", "22")
            #expect(added.status == 0, "other changes still apply: \(added)")
            let table = try Self.liveTable()
            #expect(table.contains("2298"))
            #expect(!table.contains(address))
            // A change that needs the broken pool is refused, and says why.
            #expect(try Harness.vmctl("fip", "disassociate", address).status == 0)
            Self.expectRefused(try Harness.vmctl("fip", "associate", address, vm), "interface '\(Self.dummy)' does not exist")
        }
    }

    @Test func changesTheFirewallCannotRenderAreRefusedAndNothingChanges() throws {
        let referenced = "fwc-g1", referencing = "fwc-g2", router = "fwc-r1", isolated = "fwc-iso"
        let long = "fwc-" + String(repeating: "l", count: 59)
        func removeAll() {
            for group in [referencing, referenced, long] {
                for rule in (try? Harness.vmctl("secgroup", "list", "--json").decode([SecurityGroup].self))?.first(where: { $0.name == group })?.rules ?? [] {
                    _ = try? Harness.vmctl("secgroup", "rule", "remove", group, rule.id)
                }
            }
            for group in [referencing, referenced, long] { _ = try? Harness.vmctl("secgroup", "delete", group) }
            _ = try? Harness.vmctl("router", "delete", router)
            _ = try? Harness.vmctl("net", "delete", isolated, "--force")
        }
        removeAll()
        defer { removeAll() }
        func groups() throws -> [SecurityGroup] { try Harness.vmctl("secgroup", "list", "--json").decode([SecurityGroup].self) }

        // A group another group's rule names as its remote.
        #expect(try Harness.vmctl("secgroup", "create", referenced).status == 0)
        #expect(try Harness.vmctl("secgroup", "create", referencing).status == 0)
        #expect(try Harness.vmctl("secgroup", "rule", "add", referencing, "--ingress", "--proto", "tcp", "--port", "22",
                                  "--remote-group", referenced).status == 0)
        Self.expectRefused(try Harness.vmctl("secgroup", "delete", referenced), "'\(referencing)'")
        #expect(try groups().contains { $0.name == referenced })

        // A group whose name leaves no room for a rule number in 63 characters.
        #expect(try Harness.vmctl("secgroup", "create", long).status == 0)
        let rule = try Harness.vmctl("secgroup", "rule", "add", long, "--ingress", "--proto", "tcp", "--port", "80")
        #expect(rule.status == 0, "\(rule)")

        // A router cannot join an isolated network: refused before it is saved.
        #expect(try Harness.vmctl("net", "create", isolated, "--subnet", "10.201.0.0/24", "--mode", "isolated").status == 0)
        #expect(try Harness.vmctl("router", "create", router).status == 0)
        Self.expectRefused(try Harness.vmctl("router", "add", router, isolated), "cannot join isolated network '\(isolated)'")
        let routers = try Harness.vmctl("router", "list", "--json").decode([Router].self)
        #expect(routers.first { $0.name == router }?.networks == [], "\(routers)")
        _ = try Self.reconciles()
    }
}

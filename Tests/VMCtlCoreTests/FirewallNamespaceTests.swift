import Foundation
import Testing
@testable import VMCtlCore

/// The rendered rules loaded into a real kernel and exercised with real connections — all inside
/// network namespaces these tests create (`vmctl-fwtest-PID-…`) and delete again. Nothing is sent outside
/// them: the "outside" host is one of these namespaces too. Needs root, `ip`, `nft` and `socat`.
@Suite(.serialized, .enabled(if: FirewallLab.available, "needs root, ip, nft and socat"))
struct FirewallNamespaceTests {
    typealias F = FirewallFixtures

    /// Every feature's rules load, list back, and re-applying them finds nothing to fix.
    @Test func fullStateLoadsListsBackAndReappliesWithoutDrift() throws {
        let lab = try FirewallLab("load")
        defer { lab.tearDown() }
        let host = try lab.namespace("h")
        try lab.run(["ip", "-n", host, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"])
        try lab.run(["ip", "-n", host, "link", "set", "eth0", "up"])

        let script = try FirewallRenderer.render(F.full)
        try FirewallApplier.check(script, namespace: host)
        let first = try FirewallApplier.apply(F.full, namespace: host)
        #expect(!first.tableExisted && first.drifted && first.differences == ["table ip vmctl was missing"])
        #expect(first.addressesAdded == ["198.51.100.50/32 on eth0"])
        #expect(first.sysctlsSet.contains("net.ipv4.ip_forward=1"))
        #expect(first.rules > 20 && first.elements > 10)

        let listed = try #require(try FirewallApplier.liveTable(namespace: host))
        for line in ["dnat ip to ip daddr . tcp dport map @pf_tcp", "fib daddr type local dnat ip to tcp dport map @pf_any_tcp",
                     "snat to ip saddr . oifname map @fip_snat", "ip saddr @nat_subnets oifname != @bridges masquerade",
                     "type filter hook forward priority filter; policy accept;", "ip daddr @sg_1_members jump sg_1"] {
            #expect(listed.contains(line), "missing from the live table: \(line)")
        }
        let addresses = try lab.output(["ip", "-n", host, "-4", "address", "show", "dev", "eth0"])
        #expect(addresses.contains("198.51.100.50/32") && addresses.contains("eth0:vmctl"))

        let again = try FirewallApplier.apply(F.full, namespace: host)
        #expect(again.tableExisted && !again.fixedAnything, "unexpected fixes: \(again.fixes)")
        #expect(again.rules == first.rules && again.elements == first.elements)

        // A hand-made change is drift, and reconcile reports and undoes it.
        try lab.run(["ip", "netns", "exec", host, "nft", "delete", "element", "ip", "vmctl", "pf_any_tcp", "{ 2222 }"])
        try lab.run(["ip", "netns", "exec", host, "nft", "add", "rule", "ip", "vmctl", "forward", "accept"])
        let fixed = try FirewallApplier.apply(F.full, namespace: host)
        #expect(fixed.drifted)
        #expect(fixed.differences == ["map pf_any_tcp: 1 element missing", "chain forward: rules differed (6 live, 5 desired)"])

        // A broken script is refused and changes nothing.
        #expect(throws: VMCtlError.self) { try FirewallApplier.check("table ip vmctl { chain c { bogus } }", namespace: host) }
        #expect(throws: VMCtlError.self) {
            try FirewallApplier.apply(script: "table ip vmctl {}\ndelete table ip vmctl\ntable ip vmctl { chain c { bogus } }",
                                      floating: [], sysctls: [], namespace: host)
        }
        #expect(try FirewallApplier.apply(F.full, namespace: host).fixedAnything == false)

        // The bridge table is part of the same rule set: its loss is drift, reported once.
        try lab.run(["ip", "netns", "exec", host, "nft", "delete", "table", "bridge", "vmctl"])
        #expect(try FirewallApplier.apply(F.full, namespace: host).differences == ["table bridge vmctl was missing"])
        #expect(try lab.output(["ip", "netns", "exec", host, "nft", "list", "set", "bridge", "vmctl", "port_macs"]).contains("52:54:00:00:00:0b"))

        try FirewallApplier.remove(namespace: host)
        #expect(try FirewallApplier.liveTable(namespace: host) == nil)
        #expect(try ProcessRunner.capture("ip", ["netns", "exec", host, "nft", "list", "table", "bridge", "vmctl"]).status != 0)
        #expect(try !lab.output(["ip", "-n", host, "-4", "address", "show", "dev", "eth0"]).contains("198.51.100.50"))
    }

    /// A host namespace with a NAT bridge (two guests), a routed bridge (one guest) and an uplink to an
    /// outside namespace; forwards, a floating IP, security groups and a router, checked with socat/ping.
    @Test func rulesBehave() throws {
        let lab = try FirewallLab("net")
        defer { lab.tearDown() }
        let host = try lab.namespace("h"), outside = try lab.namespace("o")
        let g1 = try lab.namespace("g1"), g2 = try lab.namespace("g2"), g3 = try lab.namespace("g3")

        try lab.link(host, "up0", "198.51.100.1/24", peer: outside, "eth0", "198.51.100.2/24")
        try lab.bridge(host, "fwbr0", "10.99.0.1/24")
        try lab.bridge(host, "fwbr1", "10.98.0.1/24")
        try lab.guest(g1, "10.99.0.10/24", gateway: "10.99.0.1", bridge: "fwbr0", host: host, port: "p10")
        try lab.guest(g2, "10.99.0.11/24", gateway: "10.99.0.1", bridge: "fwbr0", host: host, port: "p11")
        try lab.guest(g3, "10.98.0.5/24", gateway: "10.98.0.1", bridge: "fwbr1", host: host, port: "p5")
        // The outside host can route to both guest subnets through the host: only the firewall stops it.
        try lab.run(["ip", "-n", outside, "route", "add", "10.99.0.0/24", "via", "198.51.100.1"])
        try lab.run(["ip", "-n", outside, "route", "add", "10.98.0.0/24", "via", "198.51.100.1"])

        for (ns, name) in [(g1, "g1"), (g2, "g2"), (g3, "g3")] {
            for port in [22, 80, 81] { try lab.listen(ns, port: port, reply: "\(name)-\(port)") }
        }
        try lab.listen(outside, port: 9000, reply: "outside")

        let nat = NetworkRules(name: "fwnet", bridge: "fwbr0", subnet: F.net("10.99.0.0/24"), gateway: F.ip("10.99.0.1"), mode: .nat)
        let routed = NetworkRules(name: "fwlab", bridge: "fwbr1", subnet: F.net("10.98.0.0/24"), gateway: F.ip("10.98.0.1"), mode: .routed)
        let web = SecurityGroup(name: "web", rules: [
            .init(id: "http", proto: .tcp, ports: try! PortRange(80...80), remote: nil),
            .init(id: "ping", proto: .icmp, ports: nil, remote: nil),
        ])
        var state = FirewallState(
            networks: [nat, routed],
            forwards: [
                PortForward(name: "ssh", vm: "g1", proto: .tcp, hostAddress: nil, hostPort: 2222,
                            guestAddress: F.ip("10.99.0.10"), guestPort: 22, network: "fwnet"),
                PortForward(name: "local", vm: "g1", proto: .tcp, hostAddress: F.ip("127.0.0.1"), hostPort: 8080,
                            guestAddress: F.ip("10.99.0.10"), guestPort: 80, network: "fwnet"),
            ],
            floatingIPs: [FloatingIPBinding(address: F.ip("198.51.100.50"), interface: "up0", vm: "g2",
                                            guestAddress: F.ip("10.99.0.11"), network: "fwnet")],
            securityGroups: [web],
            guests: [
                Guest(vm: "g1", address: F.ip("10.99.0.10"), network: "fwnet", groups: []),
                Guest(vm: "g2", address: F.ip("10.99.0.11"), network: "fwnet", groups: ["web"]),
                Guest(vm: "g3", address: F.ip("10.98.0.5"), network: "fwlab", groups: ["web"]),
            ],
            routers: [Router(name: "r1", networks: ["fwnet", "fwlab"])])
        let report = try FirewallApplier.apply(state, namespace: host)
        #expect(report.addressesAdded == ["198.51.100.50/32 on up0"])
        try lab.waitForListeners()

        // Port forward from outside; an unforwarded port and the guest's own address stay closed.
        #expect(try lab.connect(outside, "198.51.100.1:2222") == "g1-22 from 198.51.100.2")
        #expect(try lab.connect(outside, "198.51.100.1:2223") == nil)
        #expect(try lab.connect(outside, "10.99.0.10:22") == nil)
        #expect(try lab.connect(outside, "198.51.100.1:8080") == nil, "bound to 127.0.0.1: host only")
        // From the host itself, on loopback and on its own address; source is the gateway.
        #expect(try lab.connect(host, "127.0.0.1:2222") == "g1-22 from 10.99.0.1")
        #expect(try lab.connect(host, "127.0.0.1:8080") == "g1-80 from 10.99.0.1")
        #expect(try lab.connect(host, "198.51.100.1:2222") == "g1-22 from 10.99.0.1")
        // Hairpin: a sibling guest through the host's address.
        #expect(try lab.connect(g2, "198.51.100.1:2222") == "g1-22 from 10.99.0.1")
        // Masquerade outward.
        #expect(try lab.connect(g1, "198.51.100.2:9000") == "outside from 198.51.100.1")

        // Floating IP: inbound subject to the groups, outbound with the floating address, host answers ARP.
        #expect(try lab.connect(outside, "198.51.100.50:80") == "g2-80 from 198.51.100.2")
        #expect(try lab.connect(outside, "198.51.100.50:81") == nil)
        #expect(try lab.connect(outside, "198.51.100.50:22") == nil)
        #expect(lab.ping(outside, "198.51.100.50"))
        #expect(try lab.connect(g2, "198.51.100.2:9000") == "outside from 198.51.100.50")
        #expect(try lab.connect(host, "198.51.100.50:80") == "g2-80 from 10.99.0.1")
        // The host's own processes pass the groups too: g2's group allows 80 only.
        #expect(try lab.connect(host, "198.51.100.50:22") == nil)

        // Routed network: reachable directly, unmasqueraded, but only where its groups allow.
        #expect(try lab.connect(outside, "10.98.0.5:80") == "g3-80 from 198.51.100.2")
        #expect(try lab.connect(outside, "10.98.0.5:81") == nil)
        #expect(try lab.connect(host, "10.98.0.5:80") == "g3-80 from 10.98.0.1")
        #expect(try lab.connect(host, "10.98.0.5:81") == nil, "a host process is subject to the routed guest's groups")
        #expect(try lab.connect(g3, "198.51.100.2:9000") == "outside from 10.98.0.5")
        // Router: g1 (nat network, group default) reaches g3 where g3's groups allow, unmasqueraded.
        #expect(try lab.connect(g1, "10.98.0.5:80") == "g3-80 from 10.99.0.10")
        #expect(try lab.connect(g1, "10.98.0.5:81") == nil)
        // g3 → g1: g1 is in default, which admits only default's members; g3 is not one.
        #expect(try lab.connect(g3, "10.99.0.10:22") == nil)

        // Rules name bridges, not interface indexes: a bridge made anew (libvirt's net-destroy + net-start)
        // is covered without re-applying.
        try lab.run(["ip", "-n", host, "link", "del", "fwbr0"])
        try lab.bridge(host, "fwbr0", "10.99.0.1/24")
        for port in ["p10", "p11"] { try lab.run(["ip", "-n", host, "link", "set", port, "master", "fwbr0"]) }
        #expect(try lab.connect(outside, "198.51.100.1:2222") == "g1-22 from 198.51.100.2")
        #expect(try lab.connect(outside, "10.99.0.10:22") == nil)
        #expect(try lab.connect(g1, "198.51.100.2:9000") == "outside from 198.51.100.1")

        // Without the router, the networks do not reach each other; without the binding, the floating
        // address goes away.
        state.routers = []
        state.floatingIPs = []
        let second = try FirewallApplier.apply(state, namespace: host)
        #expect(second.addressesRemoved == ["198.51.100.50/32 on up0"])
        #expect(second.differences.contains("map fip_dnat: 1 element missing") == false)
        #expect(second.differences.contains("map fip_dnat: 1 element extra"))
        #expect(try lab.connect(g1, "10.98.0.5:80") == nil)
        #expect(try lab.connect(outside, "198.51.100.50:80") == nil)
        #expect(try lab.connect(g2, "198.51.100.2:9000") == "outside from 198.51.100.1")
        #expect(try !lab.output(["ip", "-n", host, "-4", "address", "show", "dev", "up0"]).contains("198.51.100.50"))
        // The rest still works.
        #expect(try lab.connect(outside, "198.51.100.1:2222") == "g1-22 from 198.51.100.2")
    }
}

extension FirewallNamespaceTests {
    /// Guest ports pinned to their MAC and address; an isolated guest kept away from forwards, floating
    /// IPs and the host's services; route_localnet only on the bridge that needs it, and only while it does.
    @Test func portsSendOnlyAsTheirGuestAndIsolatedGuestsStayIn() throws {
        let lab = try FirewallLab("pin")
        defer { lab.tearDown() }
        let host = try lab.namespace("h"), outside = try lab.namespace("o")
        let g1 = try lab.namespace("g1"), g2 = try lab.namespace("g2"), g4 = try lab.namespace("g4")
        try lab.link(host, "up0", "198.51.100.1/24", peer: outside, "eth0", "198.51.100.2/24")
        try lab.bridge(host, "fwbr0", "10.99.0.1/24")
        try lab.bridge(host, "fwbr2", "10.97.0.1/24")
        let macs = [g1: "52:54:00:99:00:0a", g2: "52:54:00:99:00:0b", g4: "52:54:00:97:00:05"]
        try lab.guest(g1, "10.99.0.10/24", gateway: "10.99.0.1", bridge: "fwbr0", host: host, port: "p10", mac: macs[g1]!)
        try lab.guest(g2, "10.99.0.11/24", gateway: "10.99.0.1", bridge: "fwbr0", host: host, port: "p11", mac: macs[g2]!)
        try lab.guest(g4, "10.97.0.5/24", gateway: "10.97.0.1", bridge: "fwbr2", host: host, port: "p4", mac: macs[g4]!)
        for (ns, name) in [(g1, "g1"), (g2, "g2")] {
            for port in [22, 80] { try lab.listen(ns, port: port, reply: "\(name)-\(port)") }
        }
        try lab.listen(host, port: 7000, reply: "host")
        try lab.listen(outside, port: 9000, reply: "outside")

        let nat = NetworkRules(name: "fwnet", bridge: "fwbr0", subnet: F.net("10.99.0.0/24"), gateway: F.ip("10.99.0.1"), mode: .nat)
        let isolated = NetworkRules(name: "fwiso", bridge: "fwbr2", subnet: F.net("10.97.0.0/24"), gateway: F.ip("10.97.0.1"), mode: .isolated)
        let web = SecurityGroup(name: "web", rules: [.init(id: "http", proto: .tcp, ports: try! PortRange(80...80), remote: nil)])
        let forwards = [PortForward(name: "ssh", vm: "g1", proto: .tcp, hostAddress: nil, hostPort: 2222,
                                    guestAddress: F.ip("10.99.0.10"), guestPort: 22, network: "fwnet")]
        var state = FirewallState(
            networks: [nat, isolated], forwards: forwards,
            floatingIPs: [FloatingIPBinding(address: F.ip("198.51.100.50"), interface: "up0", vm: "g2",
                                            guestAddress: F.ip("10.99.0.11"), network: "fwnet")],
            securityGroups: [web],
            guests: [Guest(vm: "g1", address: F.ip("10.99.0.10"), network: "fwnet", groups: []),
                     Guest(vm: "g2", address: F.ip("10.99.0.11"), network: "fwnet", groups: ["web"]),
                     Guest(vm: "g4", address: F.ip("10.97.0.5"), network: "fwiso", groups: [])],
            ports: [GuestPort(vm: "g1", network: "fwnet", port: "p10", mac: F.mac(macs[g1]!), addresses: [F.ip("10.99.0.10")]),
                    GuestPort(vm: "g2", network: "fwnet", port: "p11", mac: F.mac(macs[g2]!), addresses: [F.ip("10.99.0.11")]),
                    GuestPort(vm: "g4", network: "fwiso", port: "p4", mac: F.mac(macs[g4]!), addresses: [F.ip("10.97.0.5")])])
        try FirewallApplier.apply(state, namespace: host)
        try lab.waitForListeners()
        let sysctl = { (key: String) in try lab.output(["ip", "netns", "exec", host, "sysctl", "-n", key]).trimmingSpaces }

        // route_localnet: on the forward's bridge only, never `all`; the guard is in place.
        #expect(try sysctl("net.ipv4.conf.fwbr0.route_localnet") == "1")
        #expect(try sysctl("net.ipv4.conf.fwbr2.route_localnet") == "0")
        #expect(try sysctl("net.ipv4.conf.all.route_localnet") == "0")
        #expect(try FirewallApplier.liveTable(namespace: host)?.contains("iifname != \"lo\" ip daddr 127.0.0.0/8 drop") == true)
        #expect(try lab.connect(host, "127.0.0.1:2222") == "g1-22 from 10.99.0.1")

        // Pinned guests talk as themselves, to each other (bridged) and to the host.
        #expect(try lab.connect(g1, "10.99.0.11:22") == "g2-22 from 10.99.0.10")
        #expect(try lab.connect(g1, "10.99.0.1:7000") == "host from 10.99.0.10")
        // A second address on eth0 gets no answers, neither from a neighbour nor from the host.
        try lab.run(["ip", "-n", g1, "address", "add", "10.99.0.99/24", "dev", "eth0"])
        #expect(try lab.connect(g1, "10.99.0.11:22", from: "10.99.0.99") == nil)
        #expect(try lab.connect(g1, "10.99.0.1:7000", from: "10.99.0.99") == nil)
        #expect(try lab.connect(g1, "10.99.0.11:22", from: "10.99.0.10") == "g2-22 from 10.99.0.10")
        // DHCP answers come from the host only: a guest's datagram from port 67 never arrives.
        let received = try lab.receiveUDP(g2, port: 68)
        try lab.sendUDP(g1, to: "10.99.0.11:68", fromPort: 67, "rogue offer")
        try lab.sendUDP(g1, to: "10.99.0.11:68", fromPort: 1067, "ordinary datagram")
        #expect(try received() == ["ordinary datagram"])
        // Another MAC (a new one, or its sibling's with the sibling's address) cuts the guest off.
        try lab.run(["ip", "-n", g1, "link", "set", "eth0", "address", "52:54:00:99:00:ee"])
        #expect(try lab.connect(g1, "10.99.0.11:22") == nil)
        #expect(try lab.connect(g1, "10.99.0.1:7000") == nil)
        try lab.run(["ip", "-n", g2, "link", "set", "eth0", "down"])
        try lab.run(["ip", "-n", g1, "link", "set", "eth0", "address", macs[g2]!])
        try lab.run(["ip", "-n", g1, "address", "add", "10.99.0.11/24", "dev", "eth0"])
        #expect(try lab.connect(g1, "10.99.0.1:7000", from: "10.99.0.11") == nil)
        #expect(try lab.connect(outside, "198.51.100.50:80") == nil, "the floating IP must not reach the impostor")
        try lab.run(["ip", "-n", g1, "address", "del", "10.99.0.11/24", "dev", "eth0"])
        try lab.run(["ip", "-n", g1, "link", "set", "eth0", "address", macs[g1]!])
        try lab.run(["ip", "-n", g2, "link", "set", "eth0", "up"])
        try lab.run(["ip", "-n", g2, "route", "replace", "default", "via", "10.99.0.1"])
        #expect(try lab.connect(g1, "10.99.0.1:7000") == "host from 10.99.0.10")

        // Isolated: not the forward through its own gateway, not the floating IP, not the host's services,
        // not outside; the host's own processes do not reach it either.
        #expect(try lab.connect(g4, "10.97.0.1:2222") == nil)
        #expect(try lab.connect(g4, "198.51.100.1:2222") == nil)
        #expect(try lab.connect(g4, "198.51.100.50:80") == nil)
        #expect(try lab.connect(g4, "10.97.0.1:7000") == nil)
        #expect(try lab.connect(g4, "198.51.100.2:9000") == nil)
        #expect(try lab.connect(outside, "198.51.100.50:80") == "g2-80 from 198.51.100.2", "the floating IP itself works")
        // What an isolated guest may ask the host: its network's DNS, and DHCP (client port to server port).
        let dns = try lab.receiveUDP(host, port: 53), dhcp = try lab.receiveUDP(host, port: 67), other = try lab.receiveUDP(host, port: 7001)
        try lab.sendUDP(g4, to: "10.97.0.1:53", fromPort: 1053, "query")
        try lab.sendUDP(g4, to: "10.97.0.1:67", fromPort: 68, "discover")
        try lab.sendUDP(g4, to: "10.97.0.1:67", fromPort: 67, "relay-like")
        try lab.sendUDP(g4, to: "10.97.0.1:7001", fromPort: 1054, "anything else")
        #expect(try dns() == ["query"])
        #expect(try dhcp() == ["discover"])
        #expect(try other() == [])

        // The host's processes: a floating IP only where the guest's groups allow; a nat guest's own
        // address not at all; a forward's port because the forward allows it.
        #expect(try lab.connect(host, "198.51.100.50:80") == "g2-80 from 10.99.0.1")
        #expect(try lab.connect(host, "198.51.100.50:22") == nil)
        #expect(try lab.connect(host, "10.99.0.11:80") == nil)
        #expect(try lab.connect(host, "198.51.100.1:2222") == "g1-22 from 10.99.0.1")

        // Without the forward, route_localnet goes back to 0 on the bridge; the guard stays.
        state.forwards = []
        try FirewallApplier.apply(state, namespace: host)
        #expect(try sysctl("net.ipv4.conf.fwbr0.route_localnet") == "0")
        #expect(try sysctl("net.ipv4.conf.all.route_localnet") == "0")
        #expect(try FirewallApplier.liveTable(namespace: host)?.contains("iifname != \"lo\" ip daddr 127.0.0.0/8 drop") == true)
        #expect(try lab.connect(host, "127.0.0.1:2222") == nil)
    }
}

/// Namespaces, links and listeners of one test, all removed by `tearDown`.
final class FirewallLab: @unchecked Sendable {
    static var available: Bool {
        getuid() == 0 && ["ip", "nft", "socat", "ping"].allSatisfy { tool in
            ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
        }
    }

    let prefix: String
    private var namespaces: [String] = []
    private var listeners: [(namespace: String, port: Int, process: ChildProcess)] = []
    private var receivers: [ChildProcess] = []

    init(_ name: String) throws {
        prefix = "vmctl-fwtest-\(getpid())-\(name)"
    }

    /// Creates namespace PREFIX-NAME with loopback up.
    func namespace(_ name: String) throws -> String {
        let full = "\(prefix)-\(name)"
        _ = try? run(["ip", "netns", "del", full])  // a leftover of a killed run
        try run(["ip", "netns", "add", full])
        namespaces.append(full)
        try run(["ip", "-n", full, "link", "set", "lo", "up"])
        return full
    }

    func link(_ a: String, _ aName: String, _ aAddress: String, peer b: String, _ bName: String, _ bAddress: String) throws {
        try run(["ip", "-n", a, "link", "add", aName, "type", "veth", "peer", "name", bName, "netns", b])
        try run(["ip", "-n", a, "address", "add", aAddress, "dev", aName])
        try run(["ip", "-n", b, "address", "add", bAddress, "dev", bName])
        try run(["ip", "-n", a, "link", "set", aName, "up"])
        try run(["ip", "-n", b, "link", "set", bName, "up"])
    }

    func bridge(_ ns: String, _ name: String, _ address: String) throws {
        try run(["ip", "-n", ns, "link", "add", name, "type", "bridge", "stp_state", "0", "forward_delay", "0"])
        try run(["ip", "-n", ns, "address", "add", address, "dev", name])
        try run(["ip", "-n", ns, "link", "set", name, "up"])
    }

    /// A guest namespace whose eth0 is plugged into `bridge` of `host` through port `port`.
    func guest(_ ns: String, _ address: String, gateway: String, bridge: String, host: String, port: String, mac: String? = nil) throws {
        try run(["ip", "-n", host, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns])
        if let mac { try run(["ip", "-n", ns, "link", "set", "eth0", "address", mac]) }
        try run(["ip", "-n", host, "link", "set", port, "master", bridge])
        try run(["ip", "-n", host, "link", "set", port, "up"])
        try run(["ip", "-n", ns, "address", "add", address, "dev", "eth0"])
        try run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        try run(["ip", "-n", ns, "route", "add", "default", "via", gateway])
    }

    /// A TCP server in `ns` that answers every connection with "REPLY from PEER".
    func listen(_ ns: String, port: Int, reply: String) throws {
        let process = try ChildProcess(["ip", "netns", "exec", ns, "socat", "TCP-LISTEN:\(port),fork,reuseaddr",
                                        "SYSTEM:echo \(reply) from $SOCAT_PEERADDR"], stdout: .discard, stderr: .discard)
        listeners.append((ns, port, process))
    }

    /// Waits (at most 5 s) until every listener accepts connections.
    func waitForListeners() throws {
        let deadline = Date().addingTimeInterval(5)
        for listener in listeners {
            while try !output(["ip", "netns", "exec", listener.namespace, "ss", "-Hltn", "sport = :\(listener.port)"]).contains(":\(listener.port)") {
                guard Date() < deadline else { throw VMCtlError.failed("listener on port \(listener.port) in \(listener.namespace) did not start") }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
    }

    /// The first line a TCP connection from `ns` (from its address `source`) to `target` receives, or nil
    /// when it cannot connect.
    func connect(_ ns: String, _ target: String, from source: String? = nil) throws -> String? {
        let bind = source.map { ",bind=\($0)" } ?? ""
        let result = try ProcessRunner.capture("ip", ["netns", "exec", ns, "socat", "-T", "2", "STDIO", "TCP:\(target),connect-timeout=0.7\(bind)"], input: "")
        guard result.status == 0 else { return nil }
        return result.output.split(separator: "\n").first.map(String.init)
    }

    /// Starts collecting the UDP datagrams `ns` receives on `port`; the closure waits a moment and returns them.
    func receiveUDP(_ ns: String, port: Int) throws -> () throws -> [String] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-udp-\(port)").path
        unlink(file)
        let process = try ChildProcess(["ip", "netns", "exec", ns, "socat", "-u", "UDP-RECV:\(port)", "OPEN:\(file),creat,append"],
                                       stdout: .discard, stderr: .discard)
        receivers.append(process)
        // Ready once the socket is bound: a datagram sent before that would be lost and read as dropped.
        var bound = false
        for _ in 0..<100 where !bound {
            let sockets = try ProcessRunner.capture("ip", ["netns", "exec", ns, "ss", "-H", "-uln", "sport = :\(port)"])
            bound = !sockets.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            if !bound { usleep(20_000) }
        }
        guard bound else { throw VMCtlError.failed("socat did not bind udp port \(port) in \(ns)") }
        return {
            // Nothing tells that a dropped datagram will never come: the allowed ones arrive well within this.
            Thread.sleep(forTimeInterval: 0.5)
            defer { unlink(file) }
            return try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map(String.init)
        }
    }

    func sendUDP(_ ns: String, to target: String, fromPort: Int, _ text: String) throws {
        _ = try ProcessRunner.capture("ip", ["netns", "exec", ns, "socat", "-u", "STDIN", "UDP-SENDTO:\(target),sourceport=\(fromPort)"],
                                      input: text + "\n")
    }

    func ping(_ ns: String, _ target: String) -> Bool {
        (try? ProcessRunner.capture("ip", ["netns", "exec", ns, "ping", "-c", "1", "-W", "1", target]).status) == 0
    }

    @discardableResult
    func run(_ argv: [String]) throws -> String { try ProcessRunner.run(argv[0], Array(argv.dropFirst())) }

    func output(_ argv: [String]) throws -> String { try run(argv) }

    func tearDown() {
        for listener in listeners {
            listener.process.signal(SIGTERM)
            listener.process.wait()
        }
        listeners = []
        for process in receivers {
            process.signal(SIGTERM)
            process.wait()
        }
        receivers = []
        for ns in namespaces.reversed() { _ = try? run(["ip", "netns", "del", ns]) }
        namespaces = []
    }
}

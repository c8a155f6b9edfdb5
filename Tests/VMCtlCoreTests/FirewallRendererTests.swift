import Foundation
import Testing
@testable import VMCtlCore

@Suite struct FirewallRendererTests {
    typealias F = FirewallFixtures

    func render(_ state: FirewallState) throws -> String { try FirewallRenderer.render(state) }

    /// The lines of one chain or set body, trimmed, from `chain NAME {` to its closing brace.
    func block(_ text: String, _ header: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let start = lines.firstIndex(of: header + " {") else { return [] }
        var body: [String] = []
        var depth = 0
        for line in lines[(start + 1)...] {
            if line == "}" {
                if depth == 0 { break }
                depth -= 1
            } else if line.hasSuffix("{") {
                depth += 1
            }
            body.append(line)
        }
        return body
    }

    func refusal(_ state: FirewallState) -> String? {
        do {
            _ = try render(state)
            return nil
        } catch let error as VMCtlError {
            return error.description
        } catch {
            return "\(error)"
        }
    }

    // MARK: - Transaction

    @Test func replacesTheWholeTableInOneScript() throws {
        let text = try render(F.full)
        let lines = text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
        #expect(Array(lines.prefix(5)) == ["table ip vmctl {}", "delete table ip vmctl", "table bridge vmctl {}",
                                           "delete table bridge vmctl", "table ip vmctl {"])
        #expect(lines.contains("table bridge vmctl {"))
        #expect(lines.last == "}")
        #expect(!text.contains("flush ruleset"))
        // Only our tables: no other table is named anywhere (the old check also passed when one was).
        let named = Set(text.split(separator: "\n").compactMap { line -> String? in
            guard let keyword = line.range(of: "table ") else { return nil }
            return line[keyword.upperBound...].split(separator: " ").prefix(2).joined(separator: " ")
        })
        #expect(named == ["ip vmctl", "bridge vmctl"], "\(named)")
        #expect(!text.contains("table inet") && !text.contains("table ip filter") && !text.contains("table ip nat"))
    }

    @Test func baseChainsHookAtTheStandardPriorities() throws {
        let text = try render(F.full)
        #expect(block(text, "chain prerouting").last == "jump dnat_rules")
        #expect(block(text, "chain output") == ["type nat hook output priority -100; policy accept;", "jump dnat_rules"])
        #expect(block(text, "chain postrouting").first == "type nat hook postrouting priority srcnat; policy accept;")
        #expect(block(text, "chain forward").first == "type filter hook forward priority filter; policy accept;")
        #expect(block(text, "chain forward").dropFirst().first == "ct state established,related accept")
    }

    // MARK: - Networks

    @Test func natNetworkMasqueradesOutwardAndDropsNewConnectionsInward() throws {
        let text = try render(F.full)
        #expect(block(text, "set nat_subnets") == ["type ipv4_addr", "flags interval", "elements = {", "10.77.0.0/24", "}"])
        #expect(block(text, "set bridges") == ["type ifname", "elements = {", "\"vmctl0\",", "\"vmctl1\",", "\"vmctl2\"", "}"])
        let post = block(text, "chain postrouting")
        #expect(post.last == "ip saddr @nat_subnets oifname != @bridges masquerade")
        // Networks sorted by name: lab (0), quiet (1), vmctl (2).
        let forward = block(text, "chain forward")
        #expect(forward.contains("oifname vmap { \"vmctl1\" : goto to_0, \"vmctl2\" : goto to_1, \"vmctl0\" : goto to_2 }"))
        #expect(forward.contains("iifname vmap { \"vmctl1\" : goto from_0, \"vmctl2\" : goto from_1, \"vmctl0\" : goto from_2 }"))
        #expect(block(text, "chain to_2") == [
            "comment \"network vmctl (nat), into the bridge\"",
            "iifname \"vmctl0\" accept",
            "ct state invalid drop",
            "ct status dnat ct original ip daddr @fip_addrs goto sg_ingress",
            "iifname { \"vmctl1\" } goto sg_ingress",
            "drop",
        ])
        #expect(block(text, "chain from_2") == [
            "comment \"network vmctl (nat), out of the bridge\"", "ip saddr != 10.77.0.0/24 drop", "accept",
        ])
    }

    @Test func routedNetworkIsNotMasqueradedAndGuardedByGroups() throws {
        let text = try render(F.full)
        #expect(!block(text, "set nat_subnets").contains("10.78.0.0/24"))
        #expect(block(text, "chain to_0") == [
            "comment \"network lab (routed), into the bridge\"",
            "iifname \"vmctl1\" accept",
            "ct state invalid drop",
            "ct status dnat ct original ip daddr @fip_addrs goto sg_ingress",
            "iifname { \"vmctl0\" } goto sg_ingress",
            "iifname @bridges drop",
            "goto sg_ingress",
        ])
        #expect(block(text, "chain from_0").suffix(2) == ["ip saddr != 10.78.0.0/24 drop", "accept"])
    }

    /// An isolated guest gets no DNAT (a forward or floating IP, even through its own gateway, would lead
    /// out), forwards nothing out of its bridge, and reaches the host only for DHCP and DNS.
    @Test func isolatedGuestsReachNeitherForwardsNorFloatingIPsNorTheHost() throws {
        let text = try render(F.full)
        #expect(block(text, "chain prerouting") == [
            "type nat hook prerouting priority dstnat; policy accept;", "iifname { \"vmctl2\" } accept", "jump dnat_rules",
        ])
        let forward = block(text, "chain forward")
        let keptIn = try #require(forward.firstIndex(of: "iifname \"vmctl2\" oifname != \"vmctl2\" drop"))
        let forwarded = try #require(forward.firstIndex { $0.contains("@pf_targets") })
        #expect(keptIn < forwarded)
        #expect(block(text, "chain host_in") == [
            "type filter hook input priority filter; policy accept;",
            "iifname != { \"vmctl2\" } accept",
            "ct state established,related accept",
            "udp sport 68 udp dport 67 accept",
            "iifname \"vmctl2\" ip daddr 10.79.0.1 meta l4proto { tcp, udp } th dport 53 accept",
            "drop",
        ])
        var noIsolated = F.full
        noIsolated.networks.removeAll { $0.mode == .isolated }
        noIsolated.guests.removeAll { $0.network == "quiet" }
        noIsolated.ports.removeAll { $0.network == "quiet" }
        let open = try render(noIsolated)
        #expect(block(open, "chain host_in").isEmpty)
        #expect(block(open, "chain prerouting") == ["type nat hook prerouting priority dstnat; policy accept;", "jump dnat_rules"])
    }

    @Test func isolatedNetworkForwardsNothingInOrOut() throws {
        let text = try render(F.full)
        #expect(block(text, "chain to_1") == [
            "comment \"network quiet (isolated), into the bridge\"", "iifname \"vmctl2\" accept", "ct state invalid drop", "drop",
        ])
        #expect(block(text, "chain from_1") == ["comment \"network quiet (isolated), out of the bridge\"", "drop"])
        #expect(!block(text, "chain postrouting").contains { $0.contains("vmctl2") })
    }

    @Test func networksWithoutARouterDoNotReachEachOther() throws {
        var state = F.full
        state.routers = []
        let text = try render(state)
        #expect(!text.contains("goto sg_ingress\n") || !block(text, "chain to_2").contains { $0.hasPrefix("iifname {") })
        #expect(block(text, "chain to_2").last == "drop")
        #expect(block(text, "chain to_0").contains("iifname @bridges drop"))
    }

    // MARK: - Port forwards

    @Test func forwardsAreMapsForEachProtocolAndAddressKind() throws {
        let text = try render(F.full)
        #expect(block(text, "map pf_any_tcp") == [
            "type inet_service : ipv4_addr . inet_service",
            "elements = {", "2222 comment \"web/ssh\" : 10.77.0.10 . 22", "}",
        ])
        #expect(block(text, "map pf_tcp") == [
            "type ipv4_addr . inet_service : ipv4_addr . inet_service",
            "elements = {", "127.0.0.1 . 8080 comment \"web/http\" : 10.77.0.10 . 80", "}",
        ])
        #expect(block(text, "map pf_udp").contains("198.51.100.1 . 5353 comment \"db/dns\" : 10.77.0.11 . 53"))
        #expect(block(text, "map pf_any_udp") == ["type inet_service : ipv4_addr . inet_service"])
        #expect(block(text, "set pf_targets") == [
            "type ipv4_addr . inet_proto . inet_service", "elements = {",
            "10.77.0.10 . tcp . 22,", "10.77.0.10 . tcp . 80,", "10.77.0.11 . udp . 53", "}",
        ])
        #expect(block(text, "chain dnat_rules") == [
            "dnat ip to ip daddr map @fip_dnat",
            "dnat ip to ip daddr . tcp dport map @pf_tcp",
            "dnat ip to ip daddr . udp dport map @pf_udp",
            "fib daddr type local dnat ip to tcp dport map @pf_any_tcp",
        ])
        #expect(block(text, "chain forward").contains(
            "ct status dnat ip daddr . meta l4proto . th dport @pf_targets ct original ip daddr != @fip_addrs accept"))
    }

    @Test func forwardsWorkFromTheHostAndFromSiblingGuests() throws {
        let text = try render(F.full)
        let post = block(text, "chain postrouting")
        #expect(post.contains("oifname \"vmctl0\" ct status dnat fib saddr type local snat ip to 10.77.0.1"))
        #expect(post.contains("oifname \"vmctl0\" ct status dnat ip saddr 10.77.0.0/24 snat ip to 10.77.0.1"))
        // route_localnet lets 127.0.0.1 be DNAT'd out of the bridge; the guard keeps outsiders off 127/8.
        #expect(block(text, "chain guard") == Self.guardChain)
        // Only the bridge of the guest behind a forward reachable on 127.0.0.1 gets it; never `conf.all`.
        #expect(FirewallRenderer.requiredSysctls(F.full) == [
            Sysctl(key: "net.ipv4.ip_forward", value: "1"),
            Sysctl(key: "net.ipv4.conf.vmctl0.route_localnet", value: "1", interface: "vmctl0"),
            Sysctl(key: "net.ipv4.conf.vmctl1.route_localnet", value: "0", interface: "vmctl1"),
            Sysctl(key: "net.ipv4.conf.vmctl2.route_localnet", value: "0", interface: "vmctl2"),
        ])
    }

    static let guardChain = ["type filter hook prerouting priority mangle; policy accept;", "iifname != \"lo\" ip daddr 127.0.0.0/8 drop"]

    /// Removing the last forward on 127.0.0.1 or every address turns route_localnet back off on the
    /// bridge that had it, and the guard stays whatever the sysctls say (CVE-2020-8558).
    @Test func routeLocalnetGoesBackToZeroWhenNothingNeedsItAndTheGuardNeverGoes() throws {
        var state = F.full
        state.forwards = state.forwards.filter { $0.name == "dns" }
        let text = try render(state)
        #expect(block(text, "chain guard") == Self.guardChain)
        #expect(FirewallRenderer.requiredSysctls(state) == [
            Sysctl(key: "net.ipv4.ip_forward", value: "1"),
            Sysctl(key: "net.ipv4.conf.vmctl0.route_localnet", value: "0", interface: "vmctl0"),
            Sysctl(key: "net.ipv4.conf.vmctl1.route_localnet", value: "0", interface: "vmctl1"),
            Sysctl(key: "net.ipv4.conf.vmctl2.route_localnet", value: "0", interface: "vmctl2"),
        ])
        #expect(!FirewallRenderer.requiredSysctls(F.full).contains { $0.key.contains(".all.") })
        #expect(block(try render(FirewallState()), "chain guard") == Self.guardChain)
        #expect(FirewallRenderer.requiredSysctls(FirewallState()).isEmpty)
        // A bridge name with a dot is written the way sysctl reads it (dots separate the key's parts).
        var dotted = F.full
        dotted.networks[0].bridge = "br.77"
        #expect(FirewallRenderer.requiredSysctls(dotted).contains(
            Sysctl(key: "net.ipv4.conf.br/77.route_localnet", value: "1", interface: "br.77")))
    }

    @Test func anyAddressIsWrittenAsZero() throws {
        var state = F.full
        state.forwards[0].hostAddress = F.ip("0.0.0.0")
        #expect(try render(state) == render(F.full))
    }

    // MARK: - Floating IPs

    @Test func floatingIPsTranslateBothWaysBeforeMasquerade() throws {
        let text = try render(F.full)
        #expect(block(text, "set fip_addrs") == ["type ipv4_addr", "elements = {", "198.51.100.50", "}"])
        #expect(block(text, "map fip_dnat") == ["type ipv4_addr : ipv4_addr", "elements = {", "198.51.100.50 comment \"vm db\" : 10.77.0.11", "}"])
        #expect(block(text, "map fip_snat") == ["typeof ip saddr . oifname : ip saddr", "elements = {", "10.77.0.11 . \"eth0\" : 198.51.100.50", "}"])
        let post = block(text, "chain postrouting")
        let snat = try #require(post.firstIndex(of: "snat ip to ip saddr . oifname map @fip_snat"))
        let masquerade = try #require(post.firstIndex(of: "ip saddr @nat_subnets oifname != @bridges masquerade"))
        #expect(snat < masquerade)
        #expect(try FirewallRenderer.floatingAddresses(F.full) == [FloatingAddress(address: F.ip("198.51.100.50"), interface: "eth0")])
    }

    @Test func withoutFloatingIPsOrForwardsTheirRulesAreLeftOut() throws {
        var state = F.full
        state.floatingIPs = []
        state.forwards = []
        let text = try render(state)
        #expect(block(text, "chain dnat_rules").isEmpty)
        #expect(!text.contains("@fip_addrs"))
        #expect(!text.contains("@pf_targets"))
        #expect(block(text, "map fip_dnat") == ["type ipv4_addr : ipv4_addr"])
    }

    // MARK: - Security groups

    @Test func securityGroupsAreMemberSetsAndOneChainEach() throws {
        let text = try render(F.full)
        // Groups sorted by name: default (0), web (1). Guests without groups are in default.
        #expect(block(text, "set sg_0_members") == ["type ipv4_addr", "elements = {",
            "10.77.0.10 comment \"vm web\",", "10.78.0.5 comment \"vm lab1\",", "10.79.0.5 comment \"vm q1\"", "}"])
        #expect(block(text, "set sg_1_members") == ["type ipv4_addr", "elements = {",
            "10.77.0.11 comment \"vm db\",", "10.78.0.5 comment \"vm lab1\"", "}"])
        #expect(block(text, "chain sg_ingress") == [
            "ip daddr @sg_0_members jump sg_0", "ip daddr @sg_1_members jump sg_1", "drop",
        ])
        #expect(block(text, "chain sg_0") == [
            "comment \"security group default\"",
            "ip saddr @sg_0_members meta l4proto icmp accept comment \"rule default-icmp\"",
            "ip saddr @sg_0_members meta l4proto tcp accept comment \"rule default-tcp\"",
            "ip saddr @sg_0_members meta l4proto udp accept comment \"rule default-udp\"",
        ])
        #expect(block(text, "chain sg_1") == [
            "comment \"security group web\"",
            "ip saddr 10.0.0.0/8 tcp dport 8000-8100 accept comment \"rule alt\"",
            "meta l4proto udp accept comment \"rule dns\"",
            "tcp dport 80 accept comment \"rule http\"",
            "ip saddr @sg_1_members meta l4proto icmp accept comment \"rule ping\"",
        ])
    }

    @Test func aFloatingIPGuestNoGuestListsIsInDefault() throws {
        var state = F.full
        state.guests.removeAll { $0.vm == "db" }
        let text = try render(state)
        #expect(block(text, "set sg_0_members").contains("10.77.0.11 comment \"vm db\","))
    }

    // MARK: - The host's own processes

    /// A host process is one more source entering each network: no exemption for floating IPs or routed
    /// guests (their groups decide), none for nat or isolated guests; only replies, the gateway's DHCP
    /// answers (server to client), the management group and a forward's own port pass unconditionally.
    @Test func hostProcessesAreFilteredLikeNeighbours() throws {
        var state = F.full
        state.managementGroup = 990
        let text = try render(state)
        #expect(block(text, "chain host_out") == [
            "type filter hook output priority filter; policy accept;",
            "ip daddr != @subnets accept",
            "fib daddr type local accept",
            "ct state established,related accept",
            "ip saddr @gateways udp sport 67 udp dport 68 accept",
            "meta skgid 990 accept",
            "ct status dnat ip daddr . meta l4proto . th dport @pf_targets ct original ip daddr != @fip_addrs accept",
            "ip daddr vmap { 10.78.0.0/24 : goto to_0, 10.79.0.0/24 : goto to_1, 10.77.0.0/24 : goto to_2 }",
        ])
        #expect(block(text, "set subnets") == ["type ipv4_addr", "flags interval", "elements = {",
                                                "10.78.0.0/24,", "10.79.0.0/24,", "10.77.0.0/24", "}"])
        #expect(block(text, "set gateways") == ["type ipv4_addr", "elements = {", "10.78.0.1,", "10.79.0.1,", "10.77.0.1", "}"])
        // No blanket pass for DNAT'd traffic (a floating IP), nor for any UDP from port 67.
        #expect(!block(text, "chain host_out").contains("ct status dnat accept"))
        #expect(!text.contains("\tudp sport 67 accept"))
        // Without a management group (a remote session's state), nobody is exempt.
        #expect(!block(try render(F.full), "chain host_out").contains { $0.contains("skgid") })
    }

    // MARK: - Anti-spoofing

    @Test func eachRunningGuestsPortIsPinnedToItsMACAndAddresses() throws {
        let whole = try render(F.full)
        let start = try #require(whole.range(of: "\ntable bridge vmctl {\n"))
        let text = String(whole[start.lowerBound...])
        #expect(block(text, "set ports") == ["type ifname", "elements = {", "\"vnet0\",", "\"vnet1\",", "\"vnet2\"", "}"])
        #expect(block(text, "set port_macs") == ["type ifname . ether_addr", "elements = {",
            "\"vnet0\" . 52:54:00:00:00:0a,", "\"vnet1\" . 52:54:00:00:00:0b,", "\"vnet2\" . 52:54:00:00:00:0c", "}"])
        #expect(block(text, "set port_addrs") == ["type ifname . ipv4_addr", "elements = {",
            "\"vnet0\" . 10.77.0.10,", "\"vnet1\" . 10.77.0.11,", "\"vnet2\" . 10.79.0.5", "}"])
        #expect(block(text, "chain prerouting").contains("iifname @ports jump guest_port"))
        #expect(block(text, "chain guest_port") == [
            "iifname . ether saddr != @port_macs drop",
            "udp sport 67 drop",
            "ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept",
            "iifname . ip saddr @port_addrs accept",
            "iifname . arp saddr ether @port_macs iifname . arp saddr ip @port_addrs accept",
            "iifname . arp saddr ether @port_macs arp saddr ip 0.0.0.0 accept",
            "drop",
        ])
        #expect(block(text, "chain prerouting").first == "type filter hook prerouting priority filter; policy accept;")
        // A stopped guest has no port; the table is still replaced, empty.
        var stopped = F.full
        stopped.ports = []
        #expect(block(try render(stopped), "set port_addrs") == ["type ifname . ipv4_addr"])
    }

    @Test func contradictoryPortsAreRefused() throws {
        func expectRefusal(_ fragment: String, _ change: (inout FirewallState) -> Void) {
            var state = F.full
            change(&state)
            let message = refusal(state)
            #expect(message?.contains(fragment) == true, "expected a refusal containing '\(fragment)', got \(message ?? "none")")
        }
        expectRefusal("port 'vnet0' is listed twice") { $0.ports.append($0.ports[0]) }
        expectRefusal("ports 'vnet0' and 'vnet9' both claim 10.77.0.10") {
            var port = $0.ports[0]; port.port = "vnet9"; $0.ports.append(port)
        }
        expectRefusal("10.78.0.5 is not a guest address of network 'vmctl'") { $0.ports[0].addresses = [F.ip("10.78.0.5")] }
        expectRefusal("invalid port name") { $0.ports[0].port = "vnet0\" accept" }
        expectRefusal("is a vmctl bridge") { $0.ports[0].port = "vmctl1" }
        expectRefusal("unknown network 'nowhere'") { $0.ports[0].network = "nowhere" }
        #expect(throws: VMCtlError.self) { try MACAddress("52:54:00:00:00") }
        #expect(throws: VMCtlError.self) { try MACAddress("52:54:00:00:00:0g") }
        #expect(throws: VMCtlError.self) { try MACAddress("01:00:5e:00:00:01") }
        #expect(throws: VMCtlError.self) { try MACAddress("ff:ff:ff:ff:ff:ff") }
        #expect(try MACAddress("52:54:00:AB:cd:01").description == "52:54:00:ab:cd:01")
    }

    // MARK: - Determinism

    @Test func sameStateSameText() throws {
        #expect(try render(F.full) == render(F.full))
        let bench = F.bench(forwards: 40, floating: 10)
        #expect(try render(bench) == render(bench))
    }

    @Test func inputOrderDoesNotMatter() throws {
        var shuffled = F.full
        var generator = FirewallShuffleGenerator(seed: 7)
        for _ in 0..<5 {
            shuffled.networks.shuffle(using: &generator)
            shuffled.forwards.shuffle(using: &generator)
            shuffled.guests.shuffle(using: &generator)
            shuffled.securityGroups = [F.web, .defaultGroup].shuffled(using: &generator).map {
                var group = $0
                group.rules.shuffle(using: &generator)
                return group
            }
            shuffled.routers = [Router(name: "r1", networks: ["lab", "vmctl"])]
            #expect(try render(shuffled) == render(F.full))
        }
        var bench = F.bench(forwards: 60, floating: 20)
        let expected = try render(bench)
        bench.forwards.shuffle(using: &generator)
        bench.floatingIPs.shuffle(using: &generator)
        bench.guests.shuffle(using: &generator)
        #expect(try render(bench) == expected)
    }

    @Test func largeStatesStayCompact() throws {
        let text = try render(F.bench())
        let rules = ["chain dnat_rules", "chain postrouting", "chain forward"].map { block(text, $0).count }
        // 200 forwards and 50 floating IPs are map elements, not rules.
        #expect(rules.allSatisfy { $0 <= 6 })
        #expect(block(text, "map pf_tcp").count == 200 + 3)
    }

    // MARK: - Refusals

    @Test func contradictoryStateIsRefused() throws {
        func expectRefusal(_ fragment: String, _ change: (inout FirewallState) -> Void) {
            var state = F.full
            change(&state)
            let message = refusal(state)
            #expect(message?.contains(fragment) == true, "expected a refusal containing '\(fragment)', got \(message ?? "none")")
        }
        let ssh = F.full.forwards[0]
        expectRefusal("both take tcp *:2222") { var f = ssh; f.name = "again"; $0.forwards.append(f) }
        expectRefusal("both take tcp 198.51.100.9:2222") {
            var f = ssh; f.name = "again"; f.hostAddress = F.ip("198.51.100.9"); $0.forwards.append(f)
        }
        expectRefusal("both take udp 198.51.100.1:5353") { var f = $0.forwards[2]; f.name = "again"; $0.forwards.append(f) }
        expectRefusal("is bound twice") {
            $0.floatingIPs.append(FloatingIPBinding(address: F.ip("198.51.100.50"), interface: "eth0", vm: "web",
                                                    guestAddress: F.ip("10.77.0.10"), network: "vmctl"))
        }
        expectRefusal("has two floating IPs") {
            $0.floatingIPs.append(FloatingIPBinding(address: F.ip("198.51.100.51"), interface: "eth0", vm: "db",
                                                    guestAddress: F.ip("10.77.0.11"), network: "vmctl"))
        }
        expectRefusal("is a floating IP") { $0.forwards[2].hostAddress = F.ip("198.51.100.50") }
        expectRefusal("lies inside network 'lab'") { $0.floatingIPs[0].address = F.ip("10.78.0.99") }
        expectRefusal("not a usable unicast address") { $0.floatingIPs[0].address = F.ip("127.0.0.2") }
        expectRefusal("names VM 'nobody'") { $0.floatingIPs[0].vm = "nobody" }
        expectRefusal("unknown network 'nowhere'") { $0.forwards[0].network = "nowhere" }
        expectRefusal("is not a guest address of network 'vmctl'") { $0.forwards[0].guestAddress = F.ip("10.78.0.5") }
        expectRefusal("is not a guest address of network 'vmctl'") { $0.guests[0].address = F.ip("10.77.0.1") }
        expectRefusal("port 0 cannot be forwarded") { $0.forwards[0].hostPort = 0 }
        expectRefusal("network 'quiet' is isolated") { $0.forwards[0].network = "quiet"; $0.forwards[0].guestAddress = F.ip("10.79.0.9") }
        expectRefusal("overlapping subnets") {
            $0.networks.append(NetworkRules(name: "big", bridge: "vmctl9", subnet: F.net("10.77.0.0/16"), gateway: F.ip("10.77.9.1"), mode: .nat))
        }
        expectRefusal("bridge 'vmctl0' belongs to two networks") {
            $0.networks.append(NetworkRules(name: "other", bridge: "vmctl0", subnet: F.net("10.80.0.0/24"), gateway: F.ip("10.80.0.1"), mode: .nat))
        }
        expectRefusal("gateway 10.80.1.1 is not a host address") {
            $0.networks.append(NetworkRules(name: "other", bridge: "vmctl9", subnet: F.net("10.80.0.0/24"), gateway: F.ip("10.80.1.1"), mode: .nat))
        }
        expectRefusal("both have address 10.77.0.10") { $0.guests.append(Guest(vm: "twin", address: F.ip("10.77.0.10"), network: "vmctl", groups: [])) }
        expectRefusal("unknown security group 'admins'") { $0.guests[0].groups = ["admins"] }
        expectRefusal("unknown remote group 'ghosts'") {
            $0.securityGroups[0].rules.append(.init(id: "x", proto: .tcp, ports: nil, remote: .group("ghosts")))
        }
        expectRefusal("icmp has no ports") {
            $0.securityGroups[0].rules.append(.init(id: "x", proto: .icmp, ports: try! PortRange(1...2), remote: nil))
        }
        expectRefusal("has two rules 'http'") { $0.securityGroups[0].rules.append($0.securityGroups[0].rules[0]) }
        expectRefusal("cannot join isolated network 'quiet'") { $0.routers.append(Router(name: "r2", networks: ["vmctl", "quiet"])) }
        expectRefusal("newer than this vmctl") { $0.version = FirewallState.currentVersion + 1 }
        expectRefusal("is a vmctl bridge") { $0.floatingIPs[0].interface = "vmctl1" }
        expectRefusal("subnet 127.0.0.0/24 lies in the loopback (127.0.0.0/8) range") {
            $0.networks.append(NetworkRules(name: "lo", bridge: "vmctl9", subnet: F.net("127.0.0.0/24"), gateway: F.ip("127.0.0.1"), mode: .nat))
        }
    }

    // MARK: - Injection

    @Test func hostileNamesAreRejectedBeforeRendering() throws {
        func expectRefusal(_ fragment: String, _ change: (inout FirewallState) -> Void) {
            var state = F.full
            change(&state)
            let message = refusal(state)
            #expect(message?.contains(fragment) == true, "got \(message ?? "no refusal")")
        }
        expectRefusal("invalid bridge name 'br0;flush ruleset'") { $0.networks[0].bridge = "br0;flush ruleset" }
        expectRefusal("invalid bridge name") { $0.networks[0].bridge = "br0\" } ; flush ruleset ; #" }
        expectRefusal("invalid bridge name") { $0.networks[0].bridge = "averyveryverylongbridge" }
        expectRefusal("invalid bridge name") { $0.networks[0].bridge = "" }
        expectRefusal("invalid interface name 'eth0\"'") { $0.floatingIPs[0].interface = "eth0\"" }
        expectRefusal("invalid interface name") { $0.floatingIPs[0].interface = "eth0\nflush ruleset" }
        expectRefusal("invalid VM name") { $0.guests[0].vm = "web\" accept; #" }
        expectRefusal("invalid port forward name") { $0.forwards[0].name = "ssh}" }
        expectRefusal("invalid security group name") { $0.securityGroups[0].name = "web@x" }
        expectRefusal("invalid security group rule name") { $0.securityGroups[0].rules[0].id = "a b" }
        expectRefusal("invalid network name") { $0.networks[0].name = "x;y" }
        expectRefusal("invalid router name") { $0.routers[0].name = "r 1" }
        #expect(throws: VMCtlError.self) { try InterfaceName.validate("..", kind: "bridge") }
        #expect(throws: Never.self) { try InterfaceName.validate("enp0s31f6.100", kind: "interface") }
        #expect(throws: Never.self) { try InterfaceName.validate("br_lab-1", kind: "bridge") }
    }

    // MARK: - Reading the live table back

    @Test func snapshotsCompareChainsRulesAndElements() throws {
        func listing(rules: [String], elements: [String], handle: Int) -> String {
            """
            {"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": "ip", "name": "vmctl", "handle": \(handle)}},
            {"map": {"family": "ip", "name": "fip_snat", "table": "vmctl", "type": ["ipv4_addr", "ifname"], "handle": \(handle + 1), "map": "ipv4_addr",
              "elem": [\(elements.joined(separator: ","))]}},
            {"chain": {"family": "ip", "table": "vmctl", "name": "forward", "handle": \(handle + 2), "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}}
            \(rules.enumerated().map { i, r in ", {\"rule\": {\"family\": \"ip\", \"table\": \"vmctl\", \"chain\": \"forward\", \"handle\": \(handle + 10 + i), \"expr\": [{\"\(r)\": null}]}}" }.joined())
            ]}
            """
        }
        let one = #"[{"concat": ["10.77.0.11", "eth0"]}, "198.51.100.50"]"#
        let two = #"[{"concat": ["10.77.0.12", "eth1"]}, "198.51.100.51"]"#
        let desired = try TableSnapshot(json: listing(rules: ["accept", "drop"], elements: [one, two], handle: 5))
        let same = try TableSnapshot(json: listing(rules: ["accept", "drop"], elements: [two, one], handle: 40))
        #expect(TableSnapshot.differences(from: same, to: desired).isEmpty)
        #expect(desired.ruleCount == 2 && desired.elementCount == 2)
        #expect(desired.floatingAddresses.sorted() == [
            FloatingAddress(address: F.ip("198.51.100.50"), interface: "eth0"),
            FloatingAddress(address: F.ip("198.51.100.51"), interface: "eth1"),
        ])
        let drifted = try TableSnapshot(json: listing(rules: ["accept"], elements: [one], handle: 5))
        #expect(TableSnapshot.differences(from: drifted, to: desired) == [
            "map fip_snat: 1 element missing", "chain forward: rules differed (1 live, 2 desired)",
        ])
        #expect(TableSnapshot.differences(from: nil, to: desired) == ["table ip vmctl was missing"])
    }

    // MARK: - Scripts for bench/firewall.sh

    /// Writes the benchmark's nft script, iptables commands and floating addresses into
    /// $VMCTL_FIREWALL_BENCH_DIR (bench/firewall.sh sets it), or a scratch directory otherwise: the writer runs
    /// and is checked either way, so a broken one fails here and not only in the benchmark.
    @Test func writesTheBenchmarkScripts() throws {
        let given = ProcessInfo.processInfo.environment["VMCTL_FIREWALL_BENCH_DIR"]
        let directory = given ?? FileManager.default.temporaryDirectory.appendingPathComponent("vmctl-bench-\(UUID().uuidString)").path
        if given == nil { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        defer { if given == nil { try? FileManager.default.removeItem(atPath: directory) } }
        let state = F.bench()
        try render(state).write(toFile: directory + "/bench.nft", atomically: true, encoding: .utf8)
        try F.benchIPTables(state).map { $0.joined(separator: " ") }.joined(separator: "\n")
            .appending("\n").write(toFile: directory + "/bench.iptables", atomically: true, encoding: .utf8)
        try FirewallRenderer.floatingAddresses(state).map { "\($0.address)" }.joined(separator: "\n")
            .appending("\n").write(toFile: directory + "/bench.addresses", atomically: true, encoding: .utf8)
        try render(F.full).write(toFile: directory + "/full.nft", atomically: true, encoding: .utf8)

        // What bench/firewall.sh counts and reports: 200 forwards, 50 floating addresses, one call a line.
        let script = try String(contentsOfFile: directory + "/bench.nft", encoding: .utf8)
        let forward = try Regex(#" : 10\.90\.[0-9.]* \. 22"#)
        #expect(script.split(separator: "\n").filter { $0.contains(forward) }.count == 200)
        let addresses = try String(contentsOfFile: directory + "/bench.addresses", encoding: .utf8).split(separator: "\n")
        #expect(addresses.count == 50)
        let calls = try String(contentsOfFile: directory + "/bench.iptables", encoding: .utf8).split(separator: "\n")
        #expect(calls.count == F.benchIPTables(state).count && !calls.isEmpty)
        #expect(try !String(contentsOfFile: directory + "/full.nft", encoding: .utf8).isEmpty)
    }

    /// Times vmctl's whole apply (render, list, nft -f, sysctls, 50 addresses, list) in the namespace
    /// bench/firewall.sh made, with an interface up0; skipped (and shown as skipped) anywhere else.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["VMCTL_FIREWALL_BENCH_NS"] != nil
                       && ProcessInfo.processInfo.environment["VMCTL_FIREWALL_BENCH_DIR"] != nil,
                   "bench/firewall.sh sets VMCTL_FIREWALL_BENCH_NS and VMCTL_FIREWALL_BENCH_DIR"))
    func timesTheApplierForTheBenchmark() throws {
        let environment = ProcessInfo.processInfo.environment
        let directory = try #require(environment["VMCTL_FIREWALL_BENCH_DIR"])
        let namespace = try #require(environment["VMCTL_FIREWALL_BENCH_NS"])
        let state = F.bench()
        var times: [String] = []
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try FirewallApplier.apply(state, namespace: namespace)
            times.append(String((DispatchTime.now().uptimeNanoseconds - start) / 1_000))
        }
        try (times.joined(separator: "\n") + "\n").write(toFile: directory + "/applier.us", atomically: true, encoding: .utf8)
        try FirewallApplier.remove(namespace: namespace)
    }
}

/// A small deterministic generator (SplitMix64), so that shuffles repeat from run to run.
struct FirewallShuffleGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

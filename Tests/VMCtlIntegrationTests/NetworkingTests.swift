import Foundation
import Testing
import VMCtlCore

/// The labs' connectivity tables, checked from the host, from the neighbour host ("outside", joined to the
/// host by a veth pair: 198.51.100.2 ↔ 198.51.100.1) and from inside the guests.
@Suite(.serialized, .enabled(if: Harness.enabled, "set VMCTL_INTEGRATION=1 (make test does) to boot real guests"))
struct NetworkingTests {
    static let hostAddress = "198.51.100.1"
    static let outsideAddress = "198.51.100.2"
    static let key = SSHKeyStore().privateKeyPath

    /// A server on the neighbour host that answers with the address the connection came from.
    static func startEchoServer(port: Int) throws -> ChildProcess {
        // socat strips quotes from its address, so the reply is written by a script of its own.
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("vmctl-echo-peer.sh").path
        try "#!/bin/sh\necho \"$SOCAT_PEERADDR\"\n".write(toFile: script, atomically: true, encoding: .utf8)
        return try Harness.startOutside(["socat", "-T5", "TCP-LISTEN:\(port),reuseaddr,fork", "SYSTEM:sh \(script)"])
    }

    /// What the neighbour host sees as the guest's source address.
    static func sourceSeenOutside(from vm: String, port: Int) throws -> String {
        let command = "echo | nc -w 3 \(outsideAddress) \(port)"
        var seen = try Harness.vmctl("ssh", vm, "--", command)
        for _ in 0..<20 where seen.trimmed.isEmpty {
            Thread.sleep(forTimeInterval: 0.2)
            seen = try Harness.vmctl("ssh", vm, "--", command)
        }
        return seen.trimmed
    }

    static func answersFromOutside(_ url: String) throws -> Harness.Result {
        try Harness.outside("curl", "-s", "-m", "3", url)
    }

    @Test func natPortForwardsAndFloatingIPsFollowTheConnectivityTable() throws {
        let vm = "nw-a", network = "nw-nat"
        try Harness.removeIfPresent(vm)
        _ = try? Harness.vmctl("net", "delete", network, "--force")
        let echo = try Self.startEchoServer(port: 9000)
        defer {
            Harness.stop(echo)
            _ = try? Harness.vmctl("delete", vm)
            _ = try? Harness.vmctl("net", "delete", network, "--force")
            _ = try? Harness.outside("ip", "route", "del", "10.83.0.0/24")
        }
        #expect(try Harness.vmctl("net", "create", network, "--subnet", "10.83.0.0/24").status == 0)
        #expect(try Harness.vmctl("create", vm, "--network", network, "--start").status == 0)
        let address = try Harness.vmctl("ip", vm, "--wait", "90").trimmed

        // NAT: out through the host; nothing in, neither from outside nor from the host itself.
        #expect(try Self.sourceSeenOutside(from: vm, port: 9000) == Self.hostAddress)
        #expect(try Harness.outside("ip", "route", "replace", "10.83.0.0/24", "via", Self.hostAddress).status == 0)
        #expect(try Self.answersFromOutside("http://\(address)/").status != 0)
        #expect(try Harness.host("curl", "-s", "-m", "3", "http://\(address)/").status != 0)
        #expect(try Harness.httpGet(address).stdout.contains(">\(vm)<"), "vmctl's management group must still reach it")

        // A forward bound to 127.0.0.1 serves the host only.
        #expect(try Harness.vmctl("forward", "add", vm, "--host-port", "2222", "--guest-port", "22", "--host-ip", "127.0.0.1").status == 0)
        let ssh = ["ssh", "-i", Self.key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                   "-o", "ConnectTimeout=3", "-o", "BatchMode=yes", "-p", "2222"]
        #expect(try Harness.run(Harness.repositoryRoot + "/scripts/hostns", ssh + ["root@127.0.0.1", "hostname"]).trimmed == vm)
        #expect(try Harness.run(Harness.repositoryRoot + "/scripts/outside", ssh + ["root@\(Self.hostAddress)", "hostname"]).status != 0)

        // VirtualBox's rule syntax, bound to the external address: neighbours and the host reach it.
        #expect(try Harness.vmctl("forward", "add", vm, "--rule", "web,tcp,\(Self.hostAddress),8080,,80").status == 0)
        #expect(try Self.answersFromOutside("http://\(Self.hostAddress):8080/").stdout.contains(">\(vm)<"))
        #expect(try Harness.host("curl", "-s", "-m", "3", "http://\(Self.hostAddress):8080/").stdout.contains(">\(vm)<"))
        #expect(try Self.answersFromOutside("http://\(Self.hostAddress):8081/").status != 0)
        #expect(try Harness.vmctl("forward", "remove", vm, "web").status == 0)
        #expect(try Self.answersFromOutside("http://\(Self.hostAddress):8080/").status != 0)
        #expect(try Harness.vmctl("forward", "remove", vm, "tcp-2222").status == 0)

        // Floating IP with a group allowing ICMP, 22 and 80.
        #expect(try Harness.vmctl("fip", "pool", "create", "nw-ext", "--interface", "vmctl-ext0",
                                  "--range", "198.51.100.100-198.51.100.101").status == 0)
        defer {
            _ = try? Harness.vmctl("fip", "disassociate", "198.51.100.100")
            _ = try? Harness.vmctl("fip", "release", "198.51.100.100")
            _ = try? Harness.vmctl("fip", "pool", "delete", "nw-ext")
            _ = try? Harness.vmctl("secgroup", "detach", vm, "nw-web")
            _ = try? Harness.vmctl("secgroup", "delete", "nw-web")
        }
        let floating = try Harness.vmctl("fip", "allocate", "nw-ext").trimmed
        #expect(floating == "198.51.100.100")
        #expect(try Self.answersFromOutside("http://\(floating)/").status != 0)
        #expect(try Harness.vmctl("secgroup", "create", "nw-web").status == 0)
        for rule in [["--proto", "icmp"], ["--proto", "tcp", "--port", "22"], ["--proto", "tcp", "--port", "80"]] {
            #expect(try Harness.vmctl(["secgroup", "rule", "add", "nw-web", "--ingress"] + rule).status == 0)
        }
        #expect(try Harness.vmctl("secgroup", "attach", vm, "nw-web").status == 0)
        #expect(try Harness.vmctl("fip", "associate", floating, vm).status == 0)
        #expect(try Harness.outside("ping", "-c", "1", "-W", "3", floating).status == 0)
        #expect(try Self.answersFromOutside("http://\(floating)/").stdout.contains(">\(vm)<"))
        #expect(try Harness.vmctl("ssh", vm, "--", "httpd -p 8081 -h /www").status == 0)
        #expect(try Self.answersFromOutside("http://\(floating):8081/").status != 0, "a port the group does not allow")
        #expect(try Self.sourceSeenOutside(from: vm, port: 9000) == floating)

        #expect(try Harness.vmctl("fip", "disassociate", floating).status == 0)
        #expect(try Self.answersFromOutside("http://\(floating)/").status != 0)
        #expect(try Self.sourceSeenOutside(from: vm, port: 9000) == Self.hostAddress)
    }

    @Test func aRouterJoinsNetworksWhileOutsideReachesOnlyTheFloatingIP() throws {
        let nets = ["nw-ops": "10.81.0.0/24", "nw-front": "10.82.0.0/24"]
        let vms = ["nw-op": "nw-ops", "nw-calc": "nw-front"]
        for vm in vms.keys { try Harness.removeIfPresent(vm) }
        defer {
            for vm in vms.keys { _ = try? Harness.vmctl("delete", vm) }
            _ = try? Harness.vmctl("fip", "disassociate", "198.51.100.110")
            _ = try? Harness.vmctl("fip", "release", "198.51.100.110")
            _ = try? Harness.vmctl("fip", "pool", "delete", "nw-ext2")
            _ = try? Harness.vmctl("router", "delete", "nw-r1")
            for net in nets.keys { _ = try? Harness.vmctl("net", "delete", net, "--force") }
            _ = try? Harness.outside("ip", "route", "del", "10.81.0.0/24")
        }
        for (net, subnet) in nets {
            _ = try? Harness.vmctl("net", "delete", net, "--force")
            let created = try Harness.vmctl("net", "create", net, "--subnet", subnet)
            try #require(created.status == 0, "\(created)")
        }
        for (vm, net) in vms {
            let created = try Harness.vmctl("create", vm, "--network", net, "--start")
            try #require(created.status == 0, "\(created)")
        }
        let opAddress = try Harness.vmctl("ip", "nw-op", "--wait", "90").trimmed
        #expect(try Harness.vmctl("ip", "nw-calc", "--wait", "90").status == 0)

        let fromCalc = { try Harness.vmctl("ssh", "nw-calc", "--", "timeout 5 wget -qO- http://\(opAddress)/") }
        #expect(try fromCalc().status != 0, "networks without a router must not reach each other")
        #expect(try Harness.vmctl("router", "create", "nw-r1").status == 0)
        #expect(try Harness.vmctl("router", "add", "nw-r1", "nw-ops").status == 0)
        #expect(try Harness.vmctl("router", "add", "nw-r1", "nw-front").status == 0)
        #expect(try fromCalc().stdout.contains(">nw-op<"))

        #expect(try Harness.vmctl("fip", "pool", "create", "nw-ext2", "--interface", "vmctl-ext0",
                                  "--range", "198.51.100.110-198.51.100.110").status == 0)
        let floating = try Harness.vmctl("fip", "allocate", "nw-ext2").trimmed
        #expect(try Harness.vmctl("secgroup", "rule", "add", "default", "--ingress", "--proto", "tcp", "--port", "80",
                                  "--remote", "198.51.100.0/24").status == 0)
        defer {
            if let id = try? Harness.vmctl("secgroup", "rule", "list", "default", "--json").stdout
                .split(separator: "\"").first(where: { $0.hasPrefix("default-") && !$0.contains("tcp") && !$0.contains("udp") && !$0.contains("icmp") }) {
                _ = try? Harness.vmctl("secgroup", "rule", "remove", "default", String(id))
            }
        }
        #expect(try Harness.vmctl("fip", "associate", floating, "nw-calc").status == 0)
        #expect(try Self.answersFromOutside("http://\(floating)/").stdout.contains(">nw-calc<"))
        #expect(try Harness.outside("ip", "route", "replace", "10.81.0.0/24", "via", Self.hostAddress).status == 0)
        #expect(try Self.answersFromOutside("http://\(opAddress)/").status != 0, "the operations VM has no floating IP")
    }

    @Test func badNetworkingInputChangesNothing() throws {
        let vm = "nw-bad"
        try Harness.removeIfPresent(vm)
        defer { _ = try? Harness.vmctl("delete", vm); _ = try? Harness.vmctl("fip", "pool", "delete", "nw-tiny") }
        #expect(try Harness.vmctl("create", vm).status == 0)
        let cases: [([String], String)] = [
            (["net", "create", "nw-overlap", "--subnet", "10.77.0.0/16"], "overlaps network 'vmctl'"),
            (["net", "create", "nw;rm", "--subnet", "10.90.0.0/24"], "invalid network name"),
            (["forward", "add", vm, "--host-port", "0", "--guest-port", "22"], "invalid host port '0'"),
            (["forward", "add", vm, "--host-port", "70000", "--guest-port", "22"], "invalid host port '70000'"),
            (["forward", "add", "no-such-vm", "--host-port", "2300", "--guest-port", "22"], "VM 'no-such-vm' not found"),
            (["forward", "add", vm, "--rule", "a;b,tcp,,2300,,22"], "invalid forward name"),
            (["secgroup", "rule", "add", "default", "--ingress", "--proto", "tcp", "--remote", "10.0.0.0/33"], "invalid remote CIDR"),
            (["secgroup", "create", "g'roup"], "invalid security group name"),
        ]
        for (arguments, message) in cases {
            let result = try Harness.vmctl(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(message) && result.stderrLines.count == 1, "\(arguments): \(result.stderr)")
        }
        // A host port with a listening socket on the host is refused.
        let listener = try Harness.start([Harness.repositoryRoot + "/scripts/hostns", "socat", "TCP-LISTEN:2399,reuseaddr", "SYSTEM:true"])
        defer { Harness.stop(listener) }
        var inUse = try Harness.vmctl("forward", "add", vm, "--host-port", "2399", "--guest-port", "22")
        for _ in 0..<20 where !inUse.stderr.contains("listening socket") {
            Thread.sleep(forTimeInterval: 0.1)
            _ = try? Harness.vmctl("forward", "remove", vm, "tcp-2399")
            inUse = try Harness.vmctl("forward", "add", vm, "--host-port", "2399", "--guest-port", "22")
        }
        #expect(inUse.status != 0 && inUse.stderr.contains("in use by a listening socket"), "\(inUse.stderr)")
        // An exhausted pool.
        #expect(try Harness.vmctl("fip", "pool", "create", "nw-tiny", "--interface", "vmctl-ext0", "--range", "198.51.100.120-198.51.100.120").status == 0)
        #expect(try Harness.vmctl("fip", "allocate", "nw-tiny").status == 0)
        let exhausted = try Harness.vmctl("fip", "allocate", "nw-tiny")
        #expect(exhausted.status != 0 && exhausted.stderr.contains("exhausted"))
        _ = try Harness.vmctl("fip", "release", "198.51.100.120")
        let forwards = try Harness.vmctl("forward", "list", vm, "--json").decode([PortForward].self)
        #expect(forwards.isEmpty, "refused forwards must not be recorded: \(forwards)")
    }
}

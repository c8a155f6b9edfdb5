import Foundation
import Testing
import VMCtlCore

/// Isolation and anti-spoofing, checked where a user stands: on the host (its sysctls, its table, a
/// process running as `nobody`), on the neighbour host, and inside guests.
@Suite(.serialized, .enabled(if: Harness.enabled, "set VMCTL_INTEGRATION=1 (make test does) to boot real guests"))
struct IsolationTests {
    static let hostAddress = "198.51.100.1"

    /// A value of a kernel setting in libvirtd's namespace, where the guest bridges live.
    static func sysctl(_ key: String) throws -> String {
        let result = try Harness.host("sysctl", "-n", key)
        guard result.status == 0 else { throw HarnessError("sysctl \(key): \(result.stderr)") }
        return result.trimmed
    }

    static func bridge(of network: String) throws -> String {
        let info = try Harness.vmctl("net", "info", network, "--json")
        guard let object = try? JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any],
              let bridge = object["bridge"] as? String else { throw HarnessError("no bridge in `net info \(network)`: \(info)") }
        return bridge
    }

    /// A TCP connection from the host as `nobody` (an ordinary host process): true when it is accepted.
    static func nobodyConnects(_ address: String, _ port: Int) throws -> Bool {
        guard Harness.isOnVMCtlNetwork(address) || address.hasPrefix("198.51.100.") else {
            throw HarnessError("refusing to contact \(address)")
        }
        return try Harness.host("setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups",
                                "timeout", "5", "bash", "-c", "exec 3<>/dev/tcp/\(address)/\(port)").status == 0
    }

    /// The host only turns route_localnet on where a forward on 127.0.0.1 (or every address) needs it — the
    /// bridge of its guest — with the guard in place, and back to 0 when the last such forward goes.
    @Test func routeLocalnetIsScopedToTheForwardsBridgeAndGoesBackToZero() throws {
        let vm = "fwr-lo", network = "fwr-lo"
        try Harness.removeIfPresent(vm)
        _ = try? Harness.vmctl("net", "delete", network, "--force")
        defer {
            _ = try? Harness.vmctl("delete", vm)
            _ = try? Harness.vmctl("net", "delete", network, "--force")
        }
        #expect(try Harness.vmctl("net", "create", network, "--subnet", "10.188.0.0/24").status == 0)
        #expect(try Harness.vmctl("create", vm, "--network", network).status == 0)
        let bridge = try Self.bridge(of: network)
        let key = "net.ipv4.conf.\(bridge).route_localnet"
        let all = try Self.sysctl("net.ipv4.conf.all.route_localnet")
        let guardRule = "iifname != \"lo\" ip daddr 127.0.0.0/8 drop"

        for hostIP in [[], ["--host-ip", "127.0.0.1"]] {
            let add = try Harness.vmctl(["forward", "add", vm, "--host-port", "2390", "--guest-port", "22"] + hostIP)
            #expect(add.status == 0, "\(add)")
            #expect(try Self.sysctl(key) == "1", "\(hostIP)")
            #expect(try Self.sysctl("net.ipv4.conf.all.route_localnet") == all, "vmctl must not touch conf.all")
            #expect(try Harness.host("nft", "list", "table", "ip", "vmctl").stdout.contains(guardRule))
            #expect(try Harness.vmctl("forward", "remove", vm, "tcp-2390").status == 0)
            #expect(try Self.sysctl(key) == "0", "\(hostIP): route_localnet must go back to 0 once nothing needs it")
            #expect(try Self.sysctl("net.ipv4.conf.all.route_localnet") == all)
            #expect(try Harness.host("nft", "list", "table", "ip", "vmctl").stdout.contains(guardRule))
        }
        // A forward on another address needs none.
        #expect(try Harness.vmctl("forward", "add", vm, "--host-port", "2390", "--guest-port", "22", "--host-ip", Self.hostAddress).status == 0)
        #expect(try Self.sysctl(key) == "0")
    }

    @Test func specialUseSubnetsAreRefusedWithOneLine() throws {
        for subnet in ["127.0.0.0/24", "0.0.0.0/8", "169.254.0.0/16", "224.0.0.0/8", "240.0.0.0/8"] {
            _ = try? Harness.vmctl("net", "delete", "fwr-bad", "--force")
            let result = try Harness.vmctl("net", "create", "fwr-bad", "--subnet", subnet)
            #expect(result.status != 0 && result.stderrLines.count == 1 && result.stderr.hasPrefix("Error: invalid subnet '\(subnet)'"),
                    "\(subnet): \(result)")
            #expect(try Harness.virsh("net-info", "fwr-bad").status != 0, "\(subnet): nothing may be created")
        }
        _ = try? Harness.vmctl("net", "delete", "fwr-bad", "--force")
    }

    /// One routed guest (group: TCP 80 only, a floating IP, a forward) and one isolated guest.
    @Test func isolatedGuestsSpoofingGuestsAndHostProcessesAreStopped() throws {
        let routed = "fwr-routed", isolated = "fwr-iso", a = "fwr-a", b = "fwr-b", group = "fwr-web", pool = "fwr-ext"
        let floating = "198.51.100.171"
        func cleanUp() {
            _ = try? Harness.vmctl("fip", "disassociate", floating)
            _ = try? Harness.vmctl("fip", "release", floating)
            _ = try? Harness.vmctl("fip", "pool", "delete", pool)
            for vm in [a, b] { _ = try? Harness.vmctl("delete", vm) }
            _ = try? Harness.vmctl("secgroup", "delete", group)
            for network in [routed, isolated] { _ = try? Harness.vmctl("net", "delete", network, "--force") }
        }
        for vm in [a, b] { try Harness.removeIfPresent(vm) }
        cleanUp()
        defer { cleanUp() }

        #expect(try Harness.vmctl("net", "create", routed, "--subnet", "10.186.0.0/24", "--mode", "routed").status == 0)
        #expect(try Harness.vmctl("net", "create", isolated, "--subnet", "10.187.0.0/24", "--mode", "isolated").status == 0)
        #expect(try Harness.vmctl("secgroup", "create", group).status == 0)
        #expect(try Harness.vmctl("secgroup", "rule", "add", group, "--ingress", "--proto", "tcp", "--port", "80").status == 0)
        #expect(try Harness.vmctl("create", a, "--network", routed).status == 0)
        #expect(try Harness.vmctl("secgroup", "attach", a, group).status == 0)
        #expect(try Harness.vmctl("create", b, "--network", isolated).status == 0)
        for vm in [a, b] { #expect(try Harness.vmctl("start", vm).status == 0) }
        let addressA = try Harness.vmctl("ip", a, "--wait", "180").trimmed
        #expect(try Harness.vmctl("ip", b, "--wait", "180").status == 0)
        #expect(try Harness.vmctl("forward", "add", a, "--host-port", "2391", "--guest-port", "80").status == 0)
        #expect(try Harness.vmctl("fip", "pool", "create", pool, "--interface", "vmctl-ext0",
                                  "--range", "\(floating)-\(floating)").status == 0)
        #expect(try Harness.vmctl("fip", "allocate", pool).trimmed == floating)
        #expect(try Harness.vmctl("fip", "associate", floating, a).status == 0)

        // Both ways in work from the neighbour host: what the isolated guest must not reach is real.
        #expect(try Harness.outside("curl", "-s", "-m", "5", "http://\(Self.hostAddress):2391/").stdout.contains(">\(a)<"))
        #expect(try Harness.outside("curl", "-s", "-m", "5", "http://\(floating)/").stdout.contains(">\(a)<"))

        // A firewall watcher still running an older vmctl rewrites the table within seconds; say so first.
        #expect(try Harness.host("nft", "list", "chain", "ip", "vmctl", "host_in").status == 0,
                "table ip vmctl is not this vmctl's (is `vmctl net reconcile --watch` running an older binary?)")

        // Isolated: neither the forward (through its own gateway or the host's address) nor the floating IP.
        for url in ["http://10.187.0.1:2391/", "http://\(Self.hostAddress):2391/", "http://\(floating)/"] {
            let fetched = try Harness.vmctl("ssh", b, "--", "timeout 8 wget -qO- \(url)")
            #expect(fetched.status != 0 && !fetched.stdout.contains(">\(a)<"), "\(url) from the isolated guest: \(fetched)")
        }

        // Host processes are held to the guest's groups, through its floating IP and its routed address.
        #expect(try Self.nobodyConnects(floating, 80))
        #expect(try !Self.nobodyConnects(floating, 22), "the group allows TCP 80 only")
        #expect(try Self.nobodyConnects(addressA, 80))
        #expect(try !Self.nobodyConnects(addressA, 22), "a routed guest's groups apply to the host too")
        #expect(try Harness.vmctl("ssh", a, "--", "true").status == 0, "vmctl's management channel is exempt")

        // Anti-spoofing: a second address on eth0 gets no answers; its own address still does.
        let gateway = "10.186.0.1"
        #expect(try Harness.vmctl("ssh", a, "--", "ip addr add 10.186.0.99/24 dev eth0").status == 0)
        let spoofed = try Harness.vmctl("ssh", a, "--", "ping -c 2 -W 2 -I 10.186.0.99 \(gateway)")
        #expect(spoofed.status != 0, "a second address got answers: \(spoofed)")
        #expect(try Harness.vmctl("ssh", a, "--", "ping -c 1 -W 3 \(gateway)").status == 0)
        #expect(try Harness.vmctl("ssh", a, "--", "ip addr del 10.186.0.99/24 dev eth0").status == 0)

        // Another MAC cuts the guest off; it runs detached, since it cuts this ssh session off too, and puts
        // the MAC back so the result can be read.
        let mac = try Harness.vmctl("ssh", a, "--", "cat /sys/class/net/eth0/address").trimmed
        #expect(mac.count == 17)
        let script = "ip link set eth0 address 52:54:00:fe:fe:01 && sleep 1 && ping -c 3 -W 2 \(gateway) >/tmp/mac.out 2>&1; "
            + "echo rc=$? >>/tmp/mac.out; ip link set eth0 address \(mac)"
        #expect(try Harness.vmctl("ssh", a, "--", "rm -f /tmp/mac.out; setsid sh -c '\(script)' </dev/null >/dev/null 2>&1 &").status == 0)
        var outcome = ""
        for _ in 0..<30 where !outcome.contains("rc=") {
            Thread.sleep(forTimeInterval: 2)
            outcome = (try? Harness.vmctl("ssh", a, "--", "cat /tmp/mac.out").stdout) ?? ""
        }
        #expect(outcome.contains("rc=") && !outcome.contains("rc=0"), "with another MAC the guest still reached its gateway: \(outcome)")
        #expect(try Harness.vmctl("ssh", a, "--", "ping -c 1 -W 3 \(gateway)").status == 0, "its own MAC works again")
    }
}

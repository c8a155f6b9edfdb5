import Foundation
import Testing

/// Forwards and floating IPs come back without anyone running vmctl: after the network is destroyed and
/// started (libvirt's network hook), after libvirtd restarts, and after someone flushes vmctl's table (the
/// watcher). It restarts the daemon, so `make test` runs it on its own, after the other suites.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["VMCTL_RESILIENCE"] == "1",
                             "restarts libvirtd: run alone, as make test does, with VMCTL_RESILIENCE=1"))
struct ResilienceTests {
    static let hostAddress = "198.51.100.1"

    /// Polls from the neighbour host until the URL answers with the VM's page, up to `seconds`.
    static func answers(_ url: String, naming vm: String, within seconds: Double = 20) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if try Harness.outside("curl", "-s", "-m", "2", url).stdout.contains(">\(vm)<") { return true }
            Thread.sleep(forTimeInterval: 0.3)
        } while Date() < deadline
        return false
    }

    @Test func forwardAndFloatingIPSurviveNetworkRestartDaemonRestartAndFlush() throws {
        let vm = "rs-web", network = "rs-net", pool = "rs-ext", floating = "198.51.100.140"
        // Also before: a run that was killed left its objects.
        func removeAll() {
            _ = try? Harness.vmctl("fip", "disassociate", floating)
            _ = try? Harness.vmctl("fip", "release", floating)
            _ = try? Harness.vmctl("fip", "pool", "delete", pool)
            _ = try? Harness.vmctl("secgroup", "detach", vm, "rs-web")
            _ = try? Harness.vmctl("delete", vm)
            _ = try? Harness.vmctl("secgroup", "delete", "rs-web")
            _ = try? Harness.vmctl("net", "delete", network, "--force")
        }
        removeAll()
        defer { removeAll() }
        #expect(try Harness.vmctl("net", "create", network, "--subnet", "10.86.0.0/24").status == 0)
        #expect(try Harness.vmctl("create", vm, "--network", network, "--start").status == 0)
        #expect(try Harness.vmctl("ip", vm, "--wait", "120").status == 0)
        #expect(try Harness.vmctl("forward", "add", vm, "--rule", "web,tcp,\(Self.hostAddress),8090,,80").status == 0)
        let poolCreated = try Harness.vmctl("fip", "pool", "create", pool, "--interface", "vmctl-ext0", "--range", "\(floating)-\(floating)")
        #expect(poolCreated.status == 0, "\(poolCreated.stderr)")
        #expect(try Harness.vmctl("fip", "allocate", pool).trimmed == floating)
        #expect(try Harness.vmctl("secgroup", "create", "rs-web").status == 0)
        #expect(try Harness.vmctl("secgroup", "rule", "add", "rs-web", "--ingress", "--proto", "tcp", "--port", "80").status == 0)
        #expect(try Harness.vmctl("secgroup", "attach", vm, "rs-web").status == 0)
        #expect(try Harness.vmctl("fip", "associate", floating, vm).status == 0)
        let urls = ["http://\(Self.hostAddress):8090/", "http://\(floating)/"]
        for url in urls { #expect(try Self.answers(url, naming: vm), "\(url) before any disruption") }

        // The network goes away and comes back: a new bridge, the guest's tap unplugged.
        #expect(try Harness.virsh("net-destroy", network).status == 0)
        #expect(try Harness.virsh("net-start", network).status == 0)
        for url in urls { #expect(try Self.answers(url, naming: vm), "\(url) after net-destroy/net-start") }

        // The daemon restarts (the bootstrap starts it again where no service manager does).
        #expect(try Harness.run("/usr/bin/env", ["pkill", "-x", "libvirtd"]).status == 0)
        let bootstrap = try Harness.run("/usr/bin/env", ["bash", Harness.repositoryRoot + "/scripts/bootstrap-host.sh", "--quiet"])
        #expect(bootstrap.status == 0, "\(bootstrap.stderr)")
        for url in urls {
            let answered = try Self.answers(url, naming: vm)
            let diagnosis = answered ? "" : [
                try Harness.virsh("list").stdout, try Harness.host("ip", "-br", "link", "show", "master", "vm-rs-net").stdout,
                try Harness.host("nft", "list", "map", "ip", "vmctl", "pf_tcp").stdout,
                try Harness.outside("curl", "-sv", "-m", "2", url).stderr,
            ].joined(separator: "\n")
            #expect(answered, "\(url) after a libvirtd restart: \(diagnosis)")
        }

        // Someone flushes vmctl's table; the watcher `make build` starts (kept running here) puts it back.
        #expect(try Harness.run("/usr/bin/env", ["bash", Harness.repositoryRoot + "/scripts/firewall-watch.sh"]).status == 0)
        #expect(try Harness.host("nft", "flush", "table", "ip", "vmctl").status == 0)
        for url in urls { #expect(try Self.answers(url, naming: vm), "\(url) after the table was flushed") }
    }
}

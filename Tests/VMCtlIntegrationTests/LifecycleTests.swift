import Foundation
import Testing
import VMCtlCore

/// The user's main path on a real QEMU guest: create, boot, reach, log in, stop, start, delete.
@Suite(.serialized, .enabled(if: Harness.enabled, "set VMCTL_INTEGRATION=1 (make test does) to boot real guests"))
struct LifecycleTests {
    @Test func createBootAnswerLogInAndDeleteLeavingNothing() throws {
        let name = "t1"
        try Harness.removeIfPresent(name)

        // Every later step needs the guest: without it they would only pile up failures that hide this one.
        let created = try Harness.vmctl("create", name, "--start")
        try #require(created.status == 0, "\(created.stderr)")

        let ip = try Harness.vmctl("ip", name, "--wait", "60")
        try #require(ip.status == 0, "\(ip.stderr)")
        let address = ip.trimmed
        #expect(Harness.isOnVMCtlNetwork(address), "address '\(address)'")

        let page = try Harness.httpGet(address)
        #expect(page.stdout.contains(">\(name)<"), "page: \(page.stdout)")

        let hostname = try Harness.vmctl("ssh", name, "--", "hostname")
        #expect(hostname.trimmed == name, "\(hostname.stderr)")

        // Data written to the guest's disk survives an ACPI power-off and a fresh boot.
        let write = try Harness.vmctl("ssh", name, "--", "echo kept-across-boots > /data/marker && sync")
        #expect(write.status == 0, "\(write.stderr)")
        #expect(try Harness.vmctl("stop", name, "--timeout", "60").status == 0)
        #expect(try Harness.virsh("domstate", name).trimmed == "shut off")
        #expect(try Harness.vmctl("start", name).status == 0)
        #expect(try Harness.vmctl("ip", name, "--wait", "60").status == 0)
        #expect(try Harness.vmctl("ssh", name, "--", "cat /data/marker").trimmed == "kept-across-boots")

        let info = try Harness.vmctl("info", name, "--json")
        let details = try info.decode(VMDetails.self)
        let mac = try #require(details.mac)

        let deleted = try Harness.vmctl("delete", name)
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(try !Harness.domainExists(name))
        #expect(try Harness.volumes(of: name).isEmpty)
        let leases = try Harness.virsh("net-dhcp-leases", "vmctl", "--mac", mac)
        #expect(!leases.stdout.contains(mac), "lease left behind: \(leases.stdout)")
    }

    /// The default network is tuned so that guests booting together all get an address.
    @Test func fourGuestsBootingAtOnceAllAnswer() throws {
        let names = (1...4).map { "par-\($0)" }
        for name in names { try Harness.removeIfPresent(name) }
        defer { for name in names { _ = try? Harness.vmctl("delete", name) } }
        for name in names {
            let created = try Harness.vmctl("create", name, "--memory", "256M")
            try #require(created.status == 0, "\(name): \(created.stderr)")
        }
        for name in names {
            let started = try Harness.vmctl("start", name)
            try #require(started.status == 0, "\(name): \(started.stderr)")
        }
        let addresses = try names.map { name -> String in
            let ip = try Harness.vmctl("ip", name, "--wait", "120")
            #expect(ip.status == 0, "\(name): \(ip.stderr)")
            return ip.trimmed
        }
        #expect(Set(addresses).count == names.count, "addresses: \(addresses)")
        for (name, address) in zip(names, addresses) {
            #expect(try Harness.httpGet(address).stdout.contains(">\(name)<"))
        }
    }
}

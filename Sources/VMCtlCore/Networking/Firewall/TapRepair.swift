import LibvirtXML

/// `virsh net-destroy` + `net-start` makes a new bridge, and libvirt 9.0 does not put running guests'
/// taps back on it: they stay up but unplugged. Reconcile plugs them in again.
enum TapRepair {
    /// Re-attaches each running vmctl guest's tap to its network's bridge; returns what it fixed.
    static func reattach(session: Session, networks: [NetworkRules]) throws -> [String] {
        let bridges = Dictionary(uniqueKeysWithValues: networks.map { ($0.name, $0.bridge) })
        var fixed: [String] = []
        for domain in try session.connection.listAllDomains([.active]) {
            // A repair, not a check: a guest that cannot be read keeps its tap as it is, and must not stop the
            // others' repair or the firewall behind it; the next reconcile tries again.
            guard let document = try? DomainDocument(xml: domain.xml()) else { continue }
            for interface in document.interfaces {
                guard let tap = interface.hostDevice, let bridge = bridges[interface.network],
                      (try? InterfaceName.validate(tap, kind: "tap")) != nil else { continue }
                let link = try ProcessRunner.capture("ip", ["-o", "link", "show", "dev", tap])
                guard link.status == 0, !link.output.contains(" master \(bridge) ") else { continue }
                try ProcessRunner.run("ip", ["link", "set", "dev", tap, "master", bridge])
                fixed.append("plugged \(domain.name)'s \(tap) back into \(bridge)")
            }
        }
        return fixed
    }
}

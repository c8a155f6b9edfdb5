import Libvirt
import LibvirtXML

/// vmctl's view of libvirt networks. Every network vmctl makes is tuned for fast, reliable DHCP:
/// the bridge forwards at once (STP off, no forward delay) and dnsmasq hands out an address without
/// first pinging it (`no-ping`), which otherwise adds seconds per guest and loses some under load.
public struct Networks {
    let session: Session

    public init(session: Session) { self.session = session }

    public static func defaultDocument() -> NetworkDocument {
        NetworkDocument(
            name: VMCtlNames.defaultNetwork,
            metadata: [XML.Element("\(VMCtlNames.metadataPrefix):network", attributes: [
                ("xmlns:\(VMCtlNames.metadataPrefix)", VMCtlNames.metadataNamespace), ("version", "1"),
            ], children: [.element(XML.Element("\(VMCtlNames.metadataPrefix):role", text: "default"))])],
            forward: .nat,
            bridgeName: "vmctl0",
            stp: false,
            bridgeDelay: 0,
            domainName: "vmctl",
            ipv4: .init(address: "10.77.0.1", prefix: 24, dhcpRange: ("10.77.0.10", "10.77.0.254")),
            dnsmasqOptions: ["no-ping"])
    }

    /// The named network, started if it was stopped; the default network is created on first use.
    public func active(named name: String) throws -> Network {
        let network: Network
        do {
            network = try session.connection.lookupNetwork(name: name)
        } catch let error as LibvirtError where error.isNotFound {
            guard name == VMCtlNames.defaultNetwork else {
                let known = (try? session.connection.listAllNetworks().map(\.name)) ?? []
                throw VMCtlError.notFound("network", name, known: known)
            }
            network = try libvirt("cannot define network '\(name)'") {
                try session.connection.defineNetwork(xml: Self.defaultDocument().xml)
            }
            try? network.setAutostart(true)
        }
        if try !network.isActive {
            try libvirt("cannot start network '\(name)'") { try network.start() }
        }
        return network
    }

    /// Checks a network exists without creating or starting anything (for validation before changes).
    public func requireExists(_ name: String) throws {
        guard name != VMCtlNames.defaultNetwork else { return }
        do {
            _ = try session.connection.lookupNetwork(name: name)
        } catch let error as LibvirtError where error.isNotFound {
            let known = (try? session.connection.listAllNetworks().map(\.name)) ?? []
            throw VMCtlError.notFound("network", name, known: known + [VMCtlNames.defaultNetwork])
        }
    }
}

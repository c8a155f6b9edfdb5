import Libvirt
import LibvirtXML

/// Gathers the firewall's input from libvirt: vmctl's networks, its VMs' pinned addresses, forwards and
/// groups (domain metadata), and the control state (pools, groups, routers).
public struct FirewallStateBuilder {
    let session: Session

    public init(session: Session) { self.session = session }

    public func gather() throws -> FirewallState {
        let control = try ControlStore(session: session).load()
        var networks: [NetworkRules] = []
        var pinned: [String: (network: String, address: IPv4Address)] = [:]
        var reserved: [PortKey: [IPv4Address]] = [:]
        for network in try session.connection.listAllNetworks() where network.name != ControlStore.networkName {
            // A network deleted between the listing and this read is simply gone.
            guard let document = try? NetworkDocument(xml: network.xml(inactive: true)),
                  let metadata = NetworkMetadata(document: document), let ip = document.ipv4,
                  let gateway = IPv4Address(ip.address), let bridge = document.bridgeName else { continue }
            networks.append(NetworkRules(name: network.name, bridge: bridge, subnet: IPv4Subnet(address: gateway, prefix: ip.prefix),
                                         gateway: gateway, mode: metadata.mode))
            for host in ip.hosts {
                if let address = IPv4Address(host.address) {
                    pinned[host.mac.lowercased()] = (network.name, address)
                    reserved[PortKey(network: network.name, mac: host.mac.lowercased()), default: []].append(address)
                }
            }
        }
        var guests: [Guest] = []
        var forwards: [PortForward] = []
        var addresses: [String: (network: String, address: IPv4Address)] = [:]
        for domain in try session.connection.listAllDomains() {
            guard let document = try? DomainDocument(xml: domain.xml([.inactive])),
                  let metadata = InstanceMetadata(domain: document),
                  let mac = document.interfaces.first?.mac?.lowercased(), let place = pinned[mac] else { continue }
            addresses[domain.name] = place
            guests.append(Guest(vm: domain.name, address: place.address, network: place.network,
                                groups: metadata.securityGroups.isEmpty ? [SecurityGroup.defaultName] : metadata.securityGroups))
            forwards += metadata.forwards.map { rule in
                PortForward(name: rule.name, vm: domain.name, proto: rule.proto, hostAddress: rule.hostAddress, hostPort: rule.hostPort,
                            guestAddress: place.address, guestPort: rule.guestPort, network: place.network)
            }
        }
        let ports = try runningPorts(on: Set(networks.map(\.name)), reserved: reserved)
        let floatingIPs = control.pools.flatMap { pool in
            pool.allocations.compactMap { allocation -> FloatingIPBinding? in
                guard let vm = allocation.vm, let place = addresses[vm] else { return nil }
                return FloatingIPBinding(address: allocation.address, interface: pool.interface, vm: vm,
                                         guestAddress: place.address, network: place.network)
            }
        }
        return FirewallState(
            networks: networks.sorted { $0.name < $1.name }, forwards: forwards.sorted { ($0.vm, $0.name) < ($1.vm, $1.name) },
            floatingIPs: floatingIPs.sorted { $0.address.value < $1.address.value }, securityGroups: control.effectiveGroups,
            guests: guests.sorted { $0.vm < $1.vm },
            // A router keeps its place when a network it joined is deleted; the firewall ignores the gap.
            routers: control.routers.map { router in
                Router(name: router.name, networks: router.networks.filter { name in networks.contains { $0.name == name } })
            },
            managementGroup: session.isLocal ? ManagementGroup.gid : nil,
            ports: ports.sorted { $0.port < $1.port })
    }

    struct PortKey: Hashable {
        var network: String
        var mac: String
    }

    /// The taps of every running domain on vmctl's networks (whoever defined it: a port on a vmctl bridge
    /// sends as its own MAC and reserved addresses, or not at all), from the live definitions.
    func runningPorts(on networks: Set<String>, reserved: [PortKey: [IPv4Address]]) throws -> [GuestPort] {
        var ports: [GuestPort] = []
        for domain in try session.connection.listAllDomains([.active]) {
            // Gone since the listing: no ports. Stopped since the listing: no taps in its definition.
            guard let xml = try libvirt("cannot read VM '\(domain.name)'", { try unlessVanished { try domain.xml() } }) else { continue }
            for interface in try DomainDocument(xml: xml).interfaces where networks.contains(interface.network) {
                guard let tap = interface.hostDevice, let mac = interface.mac else { continue }
                ports.append(GuestPort(vm: domain.name, network: interface.network, port: tap, mac: try MACAddress(mac),
                                       addresses: reserved[PortKey(network: interface.network, mac: mac.lowercased())] ?? []))
            }
        }
        return ports
    }
}

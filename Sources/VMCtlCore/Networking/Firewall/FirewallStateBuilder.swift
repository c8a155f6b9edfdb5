import Libvirt
import LibvirtXML

/// Gathers the firewall's input from libvirt: vmctl's networks, its VMs' pinned addresses, forwards and
/// groups (domain metadata), and the control state (pools, groups, routers).
public struct FirewallStateBuilder {
    let session: Session

    public init(session: Session) { self.session = session }

    /// The firewall state as recorded, before anything is left out (listings and checks use it).
    public func gather() throws -> FirewallState {
        Self.state(of: try read(), interfaceExists: { _ in true }).state
    }

    /// Reads every input. Fails closed: an object removed while this reads is skipped (a listing skips it
    /// too), but one that cannot be read is an error, never silently absent (its forwards would vanish from
    /// the rules and from the port-clash checks).
    public func read() throws -> FirewallInputs {
        var inputs = FirewallInputs()
        inputs.control = try ControlStore(session: session).load()
        inputs.managementGroup = session.isLocal ? ManagementGroup.gid : nil
        let networks = try libvirt("cannot list networks") { try session.connection.listAllNetworks() }
        for network in networks where network.name != ControlStore.networkName {
            guard let xml = try libvirt("cannot read network '\(network.name)'", { try unlessVanished { try network.xml(inactive: true) } })
            else { continue }
            let document = try NetworkDocument(xml: xml)
            // Not vmctl's (no metadata) or without an IPv4 subnet: nothing of the firewall is about it.
            guard let metadata = NetworkMetadata(document: document), let ip = document.ipv4,
                  let gateway = IPv4Address(ip.address), let bridge = document.bridgeName else { continue }
            inputs.networks.append(NetworkRules(name: network.name, bridge: bridge, subnet: IPv4Subnet(address: gateway, prefix: ip.prefix),
                                                gateway: gateway, mode: metadata.mode))
            for host in ip.hosts {
                guard let address = IPv4Address(host.address) else { continue }
                inputs.pins[host.mac.lowercased()] = .init(network: network.name, address: address)
                inputs.reservations[.init(network: network.name, mac: host.mac.lowercased()), default: []].append(address)
            }
        }
        inputs.livePorts = try livePorts(on: Set(inputs.networks.map(\.name)))
        let domains = try libvirt("cannot list VMs") { try session.connection.listAllDomains() }
        for domain in domains {
            guard let xml = try libvirt("cannot read VM '\(domain.name)'", { try unlessVanished { try domain.xml([.inactive]) } })
            else { continue }
            let document = try DomainDocument(xml: xml)
            let metadata: VMMetadata
            do {
                guard let read = try VMMetadata.read(domain: document) else {
                    inputs.foreignVMs.insert(domain.name)
                    continue
                }
                metadata = read
            } catch let error as VMCtlError where error.code == .invalid {
                inputs.unreadableVMs[domain.name] = error.description
                continue
            }
            inputs.vms.append(.init(name: domain.name, mac: document.interfaces.first?.mac?.lowercased(), metadata: metadata))
        }
        return inputs
    }

    /// The taps of every running domain on vmctl's networks (whoever defined it: a port on a vmctl bridge
    /// sends as its own MAC and reserved addresses, or not at all), from the live definitions.
    func livePorts(on networks: Set<String>) throws -> [FirewallInputs.LivePort] {
        var ports: [FirewallInputs.LivePort] = []
        let running = try libvirt("cannot list running VMs") { try session.connection.listAllDomains([.active]) }
        for domain in running {
            // Gone since the listing: no ports. Stopped since the listing: no taps in its definition.
            guard let xml = try libvirt("cannot read VM '\(domain.name)'", { try unlessVanished { try domain.xml() } }) else { continue }
            for interface in try DomainDocument(xml: xml).interfaces where networks.contains(interface.network) {
                guard let tap = interface.hostDevice, let mac = interface.mac else { continue }
                ports.append(.init(vm: domain.name, network: interface.network, tap: tap, mac: try MACAddress(mac)))
            }
        }
        return ports
    }

    /// The firewall state of `inputs` (a pure function), with the floating IPs of pools whose interface
    /// is gone left out: the host cannot hold those addresses, and the rest must still apply.
    public static func state(of inputs: FirewallInputs, interfaceExists: (String) -> Bool)
        -> (state: FirewallState, leftOut: [LeftOutObject]) {
        let control = inputs.control
        var guests: [Guest] = []
        var forwards: [PortForward] = []
        var places: [String: (pin: FirewallInputs.Pin, instanceID: String)] = [:]
        for vm in inputs.vms {
            // A VM without a reservation (an interrupted create) has no address the rules could name.
            guard let mac = vm.mac, let pin = inputs.pins[mac] else { continue }
            places[vm.name] = (pin, vm.metadata.instanceID)
            guests.append(Guest(vm: vm.name, address: pin.address, network: pin.network,
                                groups: vm.metadata.securityGroups.isEmpty ? [SecurityGroup.defaultName] : vm.metadata.securityGroups))
            forwards += vm.metadata.forwards.map { rule in
                PortForward(name: rule.name, vm: vm.name, proto: rule.proto, hostAddress: rule.hostAddress, hostPort: rule.hostPort,
                            guestAddress: pin.address, guestPort: rule.guestPort, network: pin.network)
            }
        }
        var leftOut = inputs.unreadableVMs.sorted { $0.key < $1.key }.map { LeftOutObject(object: "VM '\($0.key)'", reason: $0.value) }
        var floatingIPs: [FloatingIPBinding] = []
        for pool in control.pools {
            for allocation in pool.allocations {
                // An association names the VM it was made for: a VM made later under the same name is another.
                guard let vm = allocation.vm, let place = places[vm],
                      allocation.instanceID == nil || allocation.instanceID == place.instanceID else { continue }
                guard interfaceExists(pool.interface) else {
                    leftOut.append(LeftOutObject(object: FloatingIPBinding.objectName(allocation.address, vm: vm),
                                                 reason: "floating IP pool '\(pool.name)': interface '\(pool.interface)' does not exist on the host"))
                    continue
                }
                floatingIPs.append(FloatingIPBinding(address: allocation.address, interface: pool.interface, vm: vm,
                                                     guestAddress: place.pin.address, network: place.pin.network))
            }
        }
        let networks = inputs.networks
        let state = FirewallState(
            networks: networks.sorted { $0.name < $1.name }, forwards: forwards.sorted { ($0.vm, $0.name) < ($1.vm, $1.name) },
            floatingIPs: floatingIPs.sorted { $0.address.value < $1.address.value }, securityGroups: control.effectiveGroups,
            guests: guests.sorted { $0.vm < $1.vm },
            // A router keeps its place when a network it joined is deleted; the firewall ignores the gap.
            routers: control.routers.map { router in
                Router(name: router.name, networks: router.networks.filter { name in networks.contains { $0.name == name } })
            },
            managementGroup: inputs.managementGroup,
            ports: inputs.livePorts.map { port in
                GuestPort(vm: port.vm, network: port.network, port: port.tap, mac: port.mac,
                          addresses: inputs.reservations[.init(network: port.network, mac: port.mac.description)] ?? [])
            }.sorted { $0.port < $1.port })
        return (state, leftOut)
    }
}

/// The firewall a lab's plan leads to on one connection, checked by the renderer itself.
///
/// Every object apply makes ends up in the host's one rule set; if the renderer refuses the result (a router
/// joining an isolated network, two forwards on one host port, a floating IP inside a network), every member's
/// firewall step fails and apply leaves half a lab behind. So the plan builds the `FirewallState` the host
/// would hold after apply, the way `FirewallStateBuilder` reads it from libvirt, and renders it: a lab the
/// renderer refuses is a plan error, before anything changes. Addresses DHCP would hand out later are taken
/// as apply takes them: the first free one of the range.
enum LabFirewall {
    static func check(_ lab: Lab, state: LabObserved, actions: [LabAction], labName: String) throws {
        let desired = desiredState(lab, state: state, actions: actions, labName: labName)
        do {
            _ = try FirewallRenderer.render(desired)
        } catch let error as VMCtlError {
            throw lab.origin.error("lab '\(labName)' cannot be applied on \(state.uri): \(error.description)", code: error.code)
        }
    }

    static func desiredState(_ lab: Lab, state: LabObserved, actions: [LabAction], labName: String) -> FirewallState {
        let projection = Projection(lab: lab, state: state, actions: actions, labName: labName)
        let (networks, dhcp) = projection.networks()
        let networkNames = Set(networks.map(\.name))
        let (guests, forwards, placed) = projection.guests(on: networkNames, dhcp: dhcp)
        return FirewallState(networks: networks, forwards: forwards,
                             floatingIPs: projection.floatingIPs(guests: guests, placed: placed),
                             securityGroups: projection.securityGroups(), guests: guests,
                             routers: projection.routers(on: networkNames))
    }

    /// The host's state with the lab's plan applied, part by part.
    struct Projection {
        let lab: Lab
        let state: LabObserved
        let actions: [LabAction]
        let labName: String
        /// `kind name` of every object the plan deletes.
        let deleted: Set<String>
        let members: Set<String>

        init(lab: Lab, state: LabObserved, actions: [LabAction], labName: String) {
            self.lab = lab
            self.state = state
            self.actions = actions
            self.labName = labName
            deleted = Set(actions.filter { $0.operation == .delete }.map { "\($0.kind.label) \($0.name)" })
            members = Set(lab.members.map(\.name))
        }

        func action(_ kind: LabKind, _ name: String) -> LabAction? { actions.first { $0.kind == kind && $0.name == name } }

        /// The host's vmctl networks, the lab's as its files say, without what the lab deletes; with their DHCP ranges.
        func networks() -> ([NetworkRules], [String: IPv4Range]) {
            var networks: [NetworkRules] = []
            var dhcp: [String: IPv4Range] = [:]
            let labNetworks = Set(lab.networks.map(\.spec.name))
            for network in state.networks where network.managed && !labNetworks.contains(network.name)
                && !deleted.contains("network \(network.name)") {
                guard let mode = network.mode, let subnet = network.subnet, let gateway = network.gateway else { continue }
                networks.append(NetworkRules(name: network.name, bridge: network.bridge ?? NetworkSpec.bridgeName(forNetwork: network.name),
                                             subnet: subnet, gateway: gateway, mode: mode))
                dhcp[network.name] = network.dhcp
            }
            for network in lab.networks {
                let spec = network.spec
                networks.append(NetworkRules(name: spec.name, bridge: spec.bridgeName, subnet: spec.subnet, gateway: spec.gateway, mode: spec.mode))
                dhcp[spec.name] = spec.dhcp
            }
            return (networks, dhcp)
        }

        /// Routers of others as they are, the lab's as its files say, joining only networks that remain.
        func routers(on networkNames: Set<String>) -> [Router] {
            var routers = state.control.routers.filter { $0.lab != labName && !lab.routers.map(\.name).contains($0.name) }
            routers += lab.routers.map { Router(name: $0.name, networks: $0.networks.map(\.name)) }
            routers = routers.map { Router(name: $0.name, networks: $0.networks.filter(networkNames.contains)) }
            return routers
        }

        /// Groups of others as they are, the lab's with the plan's rule changes.
        func securityGroups() -> [SecurityGroup] {
            let labGroups = Set(lab.securityGroups.map(\.name))
            var groups = state.control.effectiveGroups.filter { $0.lab != labName && !labGroups.contains($0.name) }
            for group in lab.securityGroups {
                var made = state.control.securityGroups.first { $0.name == group.name } ?? SecurityGroup(name: group.name, rules: [])
                var (adding, removing): ([LabRule], [String]) = ([], [])
                if case .securityGroup(_, let added, let removed)? = action(.securityGroup, group.name)?.subject { (adding, removing) = (added, removed) }
                made.rules.removeAll { removing.contains($0.id) }
                for rule in adding {
                    made.rules.append(SecurityGroup.Rule(id: SecurityGroups.nextRuleID(in: made), proto: rule.proto, ports: rule.ports, remote: rule.remote))
                }
                groups.append(made)
            }
            return groups
        }

        /// The host's VMs that stay, then the lab's VMs on the addresses they keep or will get; with their
        /// forwards, and where each lab VM is placed.
        func guests(on networkNames: Set<String>, dhcp: [String: IPv4Range])
            -> ([Guest], [PortForward], [String: (network: String, address: IPv4Address)]) {
            var guests: [Guest] = []
            var forwards: [PortForward] = []
            var taken: [String: Set<UInt32>] = [:]
            for network in state.networks {
                taken[network.name, default: []].formUnion(network.hosts.map(\.address.value))
                if let gateway = network.gateway { taken[network.name, default: []].insert(gateway.value) }
            }
            for network in lab.networks {
                taken[network.spec.name, default: []].insert(network.spec.gateway.value)
                taken[network.spec.name, default: []].formUnion(lab.members.compactMap { $0.network.name == network.spec.name ? $0.address?.value : nil })
            }
            func add(vm: String, address: IPv4Address, network: String, groups: [String], rules: [ForwardRule]) {
                guests.append(Guest(vm: vm, address: address, network: network, groups: groups.isEmpty ? [SecurityGroup.defaultName] : groups))
                taken[network, default: []].insert(address.value)
                forwards += rules.map { rule in
                    PortForward(name: rule.name, vm: vm, proto: rule.proto, hostAddress: rule.hostAddress, hostPort: rule.hostPort,
                                guestAddress: address, guestPort: rule.guestPort, network: network)
                }
            }
            for domain in state.domains where domain.managed && !members.contains(domain.name) && !deleted.contains("domain \(domain.name)") {
                guard let network = domain.network, networkNames.contains(network), let address = domain.address else { continue }
                add(vm: domain.name, address: address, network: network, groups: domain.securityGroups, rules: domain.forwards)
            }
            var placed: [String: (network: String, address: IPv4Address)] = [:]
            for member in lab.members {
                let network = member.network.name
                guard networkNames.contains(network) else { continue }
                let planned = action(.domain, member.name)
                let kept = planned?.operation == .update || planned?.operation == .unchanged ? state.domain(member.name)?.address : nil
                let free = dhcp[network].flatMap { range in
                    (range.start.value...range.end.value).first { !(taken[network]?.contains($0) ?? false) }.map(IPv4Address.init(value:))
                }
                // A member DHCP could not place is apply's own error ("no free address"), not the firewall's.
                guard let address = member.address ?? kept ?? free else { continue }
                add(vm: member.name, address: address, network: network, groups: member.securityGroups.map(\.name), rules: member.forwards)
                placed[member.name] = (network, address)
            }
            return (guests, forwards, placed)
        }

        /// Bindings that stay, then one from its pool for each lab VM that gets a new one.
        func floatingIPs(guests: [Guest], placed: [String: (network: String, address: IPv4Address)]) -> [FloatingIPBinding] {
            let labPools = Set(lab.pools.map(\.name))
            var pools: [(name: String, interface: String, range: IPv4Range, allocated: Set<UInt32>)] = []
            var floatingIPs: [FloatingIPBinding] = []
            let guestPlaces = Dictionary(guests.map { ($0.vm, $0) }, uniquingKeysWith: { first, _ in first })
            for pool in state.control.pools {
                let replaced = labPools.contains(pool.name) && action(.floatingIPPool, pool.name)?.operation == .replace
                if deleted.contains("fip-pool \(pool.name)") || replaced { continue }
                let wanted = lab.pools.first { $0.name == pool.name }
                let interface = wanted?.interface ?? pool.interface
                var allocated = Set(pool.allocations.map(\.address.value))
                for allocation in pool.allocations {
                    guard let vm = allocation.vm, let guest = guestPlaces[vm] else { continue }
                    if members.contains(vm) {
                        let planned = action(.domain, vm)
                        let stays = (planned?.operation == .update || planned?.operation == .unchanged)
                            && !(planned?.releasing.contains(allocation.address) ?? false)
                        guard stays else {
                            allocated.remove(allocation.address.value)
                            continue
                        }
                    }
                    floatingIPs.append(FloatingIPBinding(address: allocation.address, interface: interface, vm: vm,
                                                         guestAddress: guest.address, network: guest.network))
                }
                pools.append((pool.name, interface, wanted?.range ?? pool.range, allocated))
            }
            for pool in lab.pools where !pools.contains(where: { $0.name == pool.name }) {
                pools.append((pool.name, pool.interface, pool.range, []))
            }
            let bound = Set(floatingIPs.map(\.vm))
            for member in lab.members where !bound.contains(member.name) {
                guard let poolName = member.floatingPool?.name, let place = placed[member.name],
                      let index = pools.firstIndex(where: { $0.name == poolName }) else { continue }
                let pool = pools[index]
                guard let free = (pool.range.start.value...pool.range.end.value).first(where: { !pool.allocated.contains($0) }) else { continue }
                pools[index].allocated.insert(free)
                floatingIPs.append(FloatingIPBinding(address: IPv4Address(value: free), interface: pool.interface, vm: member.name,
                                                     guestAddress: place.address, network: place.network))
            }
            return floatingIPs
        }
    }
}

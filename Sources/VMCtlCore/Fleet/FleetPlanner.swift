import Foundation

/// Plans a lab: a pure function of the files (`FleetLab`) and what each connection holds (`FleetObserved`).
/// Objects the lab created carry its name in their vmctl metadata; only those are updated or deleted. An object
/// the lab describes that exists without being the lab's is a conflict, never taken over.
public enum FleetPlanner {
    public static func plan(_ lab: FleetLab, observed: [String: FleetObserved]) throws -> FleetPlan {
        var actions: [FleetAction] = []
        for uri in lab.uris {
            guard let state = observed[uri] else { throw VMCtlError(.unavailable, "no state read from \(uri)") }
            actions += try plan(lab.on(uri), state: state, labName: lab.name)
        }
        return FleetPlan(lab: lab.name, actions: actions)
    }

    static func ownerText(_ lab: String?, managed: Bool) -> String {
        if let lab { return "it belongs to lab '\(lab)'" }
        return managed ? "it was made by hand" : "vmctl did not make it"
    }

    static func plan(_ lab: FleetLab, state: FleetObserved, labName: String) throws -> [FleetAction] {
        let uri = state.uri
        var actions: [FleetAction] = []
        let existingNetworks = Set(state.networks.map(\.name)).union([VMCtlNames.defaultNetwork])
        let labNetworks = Set(lab.networks.map(\.spec.name))
        let existingGroups = Set(state.control.effectiveGroups.map(\.name))
        let labGroups = Set(lab.securityGroups.map(\.name))
        let existingPools = Set(state.control.pools.map(\.name))
        let labPools = Set(lab.pools.map(\.name))

        // MARK: Floating IP pools
        var replacedPools: Set<String> = []
        for pool in lab.pools {
            var action = FleetAction(kind: .floatingIPPool, name: pool.name, uri: uri, operation: .create,
                                     changes: ["\(pool.range) on \(pool.interface)"])
            action.pool = pool
            if let interfaces = state.interfaces, !interfaces.contains(pool.interface) {
                throw pool.origin.error("interface '\(pool.interface)' of pool '\(pool.name)' does not exist on \(uri)")
            }
            if let clash = state.networks.first(where: { network in
                !labNetworks.contains(network.name) && (network.subnet.map { $0.contains(pool.range.start) || $0.contains(pool.range.end) } ?? false)
            }) {
                throw pool.origin.error("address range \(pool.range) lies in network '\(clash.name)' (\(clash.subnet!)) on \(uri)")
            }
            if let current = state.control.pools.first(where: { $0.name == pool.name }) {
                guard current.lab == labName else {
                    throw pool.origin.error("floating IP pool '\(pool.name)' already exists on \(uri) and is not part of lab '\(labName)' (\(ownerText(current.lab, managed: true)))")
                }
                var changes: [String] = []
                if current.interface != pool.interface { changes.append("interface \(current.interface) → \(pool.interface)") }
                if current.range != pool.range { changes.append("range \(current.range) → \(pool.range)") }
                if changes.isEmpty {
                    let loose = current.allocations.filter { $0.vm == nil }.map(\.address)
                    action.operation = loose.isEmpty ? .unchanged : .update
                    action.changes = loose.map { "release unassociated \($0)" }
                    action.releaseAddresses = loose
                } else {
                    let foreign = current.allocations.filter { allocation in
                        allocation.vm.map { vm in state.domain(vm)?.lab?.name != labName } ?? false
                    }
                    if let held = foreign.first {
                        throw pool.origin.error("pool '\(pool.name)' changed (\(changes.joined(separator: ", "))) but \(held.address) is associated with '\(held.vm ?? "")', which is not in the lab")
                    }
                    action.operation = .replace
                    action.changes = changes
                    action.releaseAddresses = current.allocations.map(\.address)
                    replacedPools.insert(pool.name)
                }
            }
            actions.append(action)
        }

        // MARK: Security groups
        for group in lab.securityGroups {
            for (rule, origin) in zip(group.rules, group.ruleOrigins) {
                if case .group(let remote)? = rule.remote, !labGroups.contains(remote), !existingGroups.contains(remote) {
                    throw origin.error("security group '\(remote)' (remote-group) is neither in the lab nor on \(uri)")
                }
            }
            var action = FleetAction(kind: .securityGroup, name: group.name, uri: uri, operation: .create,
                                     changes: group.rules.map(\.description))
            action.group = group
            action.addRules = group.rules
            if let current = state.control.securityGroups.first(where: { $0.name == group.name }) {
                guard current.lab == labName else {
                    throw group.origin.error("security group '\(group.name)' already exists on \(uri) and is not part of lab '\(labName)' (\(ownerText(current.lab, managed: true)))")
                }
                action.addRules = group.rules.filter { rule in !current.rules.contains { rule.matches($0) } }
                action.removeRules = current.rules.filter { rule in !group.rules.contains { $0.matches(rule) } }.map(\.id)
                action.changes = action.addRules.map { "add rule \($0)" }
                    + current.rules.filter { action.removeRules.contains($0.id) }.map { "remove rule \(FleetRule($0))" }
                action.operation = action.changes.isEmpty ? .unchanged : .update
            }
            actions.append(action)
        }

        // MARK: Networks
        var replacedNetworks: Set<String> = []
        for network in lab.networks {
            let spec = network.spec
            var action = FleetAction(kind: .network, name: spec.name, uri: uri, operation: .create,
                                     changes: ["\(spec.subnet), \(spec.mode.rawValue), DHCP \(spec.dhcp)"])
            action.network = network
            if let current = state.network(spec.name) {
                guard current.lab == labName else {
                    throw network.origin.error("network '\(spec.name)' already exists on \(uri) and is not part of lab '\(labName)' (\(ownerText(current.lab, managed: current.managed)))")
                }
                var changes: [String] = []
                if current.subnet != spec.subnet { changes.append("subnet \(current.subnet?.description ?? "none") → \(spec.subnet)") }
                if current.gateway != spec.gateway { changes.append("gateway \(current.gateway?.description ?? "none") → \(spec.gateway)") }
                if current.dhcp != spec.dhcp { changes.append("DHCP \(current.dhcp?.description ?? "none") → \(spec.dhcp)") }
                if current.mode != spec.mode { changes.append("mode \(current.mode?.rawValue ?? "?") → \(spec.mode.rawValue)") }
                if current.domain != spec.domain { changes.append("domain \(current.domain ?? "none") → \(spec.domain)") }
                if changes.isEmpty {
                    action.operation = .unchanged
                    action.changes = []
                } else {
                    let foreign = state.domains.filter { $0.network == spec.name && $0.lab?.name != labName }
                    if let vm = foreign.first {
                        throw network.origin.error("network '\(spec.name)' must be made again (\(changes.joined(separator: ", "))) but VM '\(vm.name)', not in the lab, is attached")
                    }
                    action.operation = .replace
                    action.changes = changes
                    replacedNetworks.insert(spec.name)
                }
            } else {
                // A new network must not overlap what the host already has.
                if let clash = state.networks.first(where: { $0.subnet.map { $0.overlaps(spec.subnet) } ?? false }) {
                    throw network.origin.error("subnet \(spec.subnet) overlaps network '\(clash.name)' (\(clash.subnet!)) on \(uri)")
                }
            }
            actions.append(action)
        }

        // MARK: Routers
        for router in lab.routers {
            for reference in router.networks where !labNetworks.contains(reference.name) {
                guard state.network(reference.name)?.managed == true else {
                    throw reference.origin.error("network '\(reference.name)' is neither in the lab nor a vmctl network on \(uri)")
                }
            }
            let wanted = router.networks.map(\.name)
            var action = FleetAction(kind: .router, name: router.name, uri: uri, operation: .create,
                                     changes: wanted.isEmpty ? [] : ["joins \(wanted.joined(separator: ", "))"])
            action.router = router
            action.joinNetworks = wanted
            if let current = state.control.routers.first(where: { $0.name == router.name }) {
                guard current.lab == labName else {
                    throw router.origin.error("router '\(router.name)' already exists on \(uri) and is not part of lab '\(labName)' (\(ownerText(current.lab, managed: true)))")
                }
                action.joinNetworks = wanted.filter { !current.networks.contains($0) }
                action.leaveNetworks = current.networks.filter { !wanted.contains($0) }
                action.changes = action.joinNetworks.map { "join \($0)" } + action.leaveNetworks.map { "leave \($0)" }
                action.operation = action.changes.isEmpty ? .unchanged : .update
            }
            actions.append(action)
        }

        // MARK: Domains
        let wantedMembers = Set(lab.members.map(\.name))
        for member in lab.members {
            // References: the lab's own objects, or ones already on the host.
            if !labNetworks.contains(member.network.name) && !existingNetworks.contains(member.network.name) {
                throw member.network.origin.error("network '\(member.network.name)' is neither in the lab nor on \(uri)")
            }
            for group in member.securityGroups where !labGroups.contains(group.name) && !existingGroups.contains(group.name) {
                throw group.origin.error("security group '\(group.name)' is neither in the lab nor on \(uri)")
            }
            if let pool = member.floatingPool, !labPools.contains(pool.name), !existingPools.contains(pool.name) {
                throw pool.origin.error("floating IP pool '\(pool.name)' is neither in the lab nor on \(uri)")
            }
            if let images = state.images, member.image != TinyImage.name, !images.contains(member.image) {
                throw member.origin.error("image '\(member.image)' is not on \(uri) (vmctl image import FILE --name \(member.image))")
            }
            if let address = member.address, let origin = member.addressOrigin, !labNetworks.contains(member.network.name),
               let network = state.network(member.network.name), let subnet = network.subnet {
                guard subnet.contains(address), address.value >= subnet.first.value, address.value <= subnet.last.value,
                      address != network.gateway else {
                    throw origin.error("address \(address) is not a free host address of network '\(network.name)' (\(subnet))")
                }
            }
            if let address = member.address, let origin = member.addressOrigin, !replacedNetworks.contains(member.network.name),
               let holder = state.network(member.network.name)?.hosts.first(where: { $0.address == address && $0.name != member.name }) {
                let owner = holder.name ?? holder.mac
                if !(state.domain(owner)?.lab?.name == labName && !wantedMembers.contains(owner)) {
                    throw origin.error("address \(address) on network '\(member.network.name)' is already taken by '\(owner)'")
                }
            }

            var action = FleetAction(kind: .domain, name: member.name, uri: uri, operation: .create)
            action.member = member
            action.changes = [memberSummary(member)]
            guard let current = state.domain(member.name) else {
                actions.append(action)
                continue
            }
            guard current.lab?.name == labName else {
                throw member.origin.error("VM '\(member.name)' already exists on \(uri) and is not part of lab '\(labName)' (\(ownerText(current.lab?.name, managed: current.managed)))")
            }
            var reasons: [String] = []
            if current.lab?.digest != member.digest { reasons.append("image, network, address, keys or user-data changed") }
            if replacedNetworks.contains(member.network.name) { reasons.append("network \(member.network.name) is made again") }
            if let disk = current.disk, member.disk < disk { reasons.append("disk \(disk) → \(member.disk) cannot shrink") }
            if !reasons.isEmpty {
                action.operation = .replace
                action.changes = reasons
                actions.append(action)
                continue
            }

            var update = FleetDomainUpdate()
            var changes: [String] = []
            var request = ResizeRequest()
            if member.cpus != current.cpus { request.cpus = member.cpus }
            if member.memory != current.memory { request.memory = member.memory }
            if let disk = current.disk, member.disk > disk { request.disk = member.disk }
            if request.cpus != nil || request.memory != nil || request.disk != nil {
                let resizeState = ResizeState(isRunning: current.running, cpus: current.cpus, maxCPUs: current.maxCPUs,
                                              memory: current.memory, maxMemory: current.maxMemory, disk: current.disk ?? member.disk)
                let resizeChanges = try ResizePlan.plan(request, state: resizeState)
                update.resize = request
                update.restart = member.state == .running && resizeChanges.contains { $0.effect == .restartNeeded }
                changes += resizeChanges.map { "\($0.resource) \($0.from) → \($0.to) (\($0.effect == .restartNeeded ? "restart" : $0.effect.rawValue))" }
            }
            if current.network != nil && current.address == nil {
                update.reserveAddress = true
                changes.append("reserve an address on \(member.network.name)")
            }
            let wantedForwards = member.forwards
            update.removeForwards = current.forwards.filter { !wantedForwards.contains($0) }.map(\.name)
            update.addForwards = wantedForwards.filter { !current.forwards.contains($0) }
            changes += update.removeForwards.map { "remove forward \($0)" }
            changes += update.addForwards.map { "forward \($0.proto.rawValue)/\($0.hostPort) → \($0.guestPort)" }
            let wantedGroups = member.securityGroups.map(\.name)
            update.detachGroups = current.securityGroups.filter { !wantedGroups.contains($0) }
            update.attachGroups = wantedGroups.filter { !current.securityGroups.contains($0) }
            changes += update.detachGroups.map { "leave group \($0)" } + update.attachGroups.map { "join group \($0)" }
            let floating = state.floatingIP(of: member.name)
            let currentPool = floating.flatMap { replacedPools.contains($0.pool) ? nil : $0.pool }
            if currentPool != member.floatingPool?.name {
                if let floating, !replacedPools.contains(floating.pool) {
                    update.releaseFloatingIP = floating.address
                    changes.append("release floating IP \(floating.address)")
                }
                if let pool = member.floatingPool?.name {
                    update.floatingPool = pool
                    changes.append("floating IP from \(pool)")
                }
            }
            if member.state == .running && !current.running && !update.restart {
                update.start = true
                changes.append("start")
            }
            if member.state == .stopped && current.running {
                update.stop = true
                changes.append("stop")
            }
            action.update = update
            action.changes = changes
            action.operation = changes.isEmpty ? .unchanged : .update
            actions.append(action)
        }

        // MARK: Deletions: what the lab made and its files no longer describe
        for domain in state.domains where domain.lab?.name == labName && !wantedMembers.contains(domain.name) {
            var action = FleetAction(kind: .domain, name: domain.name, uri: uri, operation: .delete)
            if let floating = state.floatingIP(of: domain.name) { action.update.releaseFloatingIP = floating.address }
            actions.append(action)
        }
        for router in state.control.routers where router.lab == labName && !lab.routers.contains(where: { $0.name == router.name }) {
            actions.append(FleetAction(kind: .router, name: router.name, uri: uri, operation: .delete))
        }
        for group in state.control.securityGroups where group.lab == labName && !labGroups.contains(group.name) {
            let members = state.domains.filter { $0.securityGroups.contains(group.name) && !($0.lab?.name == labName) }
            if let member = members.first {
                throw VMCtlError.conflict("security group '\(group.name)' of lab '\(labName)' is no longer in its files, but VM '\(member.name)' (not in the lab) is in it")
            }
            actions.append(FleetAction(kind: .securityGroup, name: group.name, uri: uri, operation: .delete))
        }
        for pool in state.control.pools where pool.lab == labName && !labPools.contains(pool.name) {
            var action = FleetAction(kind: .floatingIPPool, name: pool.name, uri: uri, operation: .delete)
            action.releaseAddresses = pool.allocations.map(\.address)
            actions.append(action)
        }
        for network in state.networks where network.lab == labName && !labNetworks.contains(network.name) {
            let attached = state.domains.filter { $0.network == network.name && !($0.lab?.name == labName && !wantedMembers.contains($0.name)) }
            if let vm = attached.first {
                throw VMCtlError.conflict("network '\(network.name)' of lab '\(labName)' is no longer in its files, but VM '\(vm.name)' is still attached")
            }
            actions.append(FleetAction(kind: .network, name: network.name, uri: uri, operation: .delete))
        }
        try FleetFirewall.check(lab, state: state, actions: actions, labName: labName)
        return actions.sorted { ($0.kind, $0.name) < ($1.kind, $1.name) }
    }

    static func memberSummary(_ member: FleetMember) -> String {
        var text = "\(member.image), \(member.cpus) vCPU, \(member.memory), \(member.network.name)"
        if let address = member.address { text += " \(address)" }
        if let pool = member.floatingPool { text += ", floating IP from \(pool.name)" }
        if member.state == .stopped { text += ", stopped" }
        return text
    }

    /// Destroy: everything the lab made on this connection, whatever its files say now; domains first, networks last.
    public static func destroy(lab labName: String, state: FleetObserved) -> [FleetAction] {
        var actions: [FleetAction] = []
        let uri = state.uri
        for domain in state.domains.sorted(by: { $0.name < $1.name }) where domain.lab?.name == labName {
            var action = FleetAction(kind: .domain, name: domain.name, uri: uri, operation: .delete)
            if let floating = state.floatingIP(of: domain.name) { action.update.releaseFloatingIP = floating.address }
            actions.append(action)
        }
        for router in state.control.routers where router.lab == labName {
            actions.append(FleetAction(kind: .router, name: router.name, uri: uri, operation: .delete))
        }
        for group in state.control.securityGroups where group.lab == labName {
            actions.append(FleetAction(kind: .securityGroup, name: group.name, uri: uri, operation: .delete))
        }
        for pool in state.control.pools where pool.lab == labName {
            var action = FleetAction(kind: .floatingIPPool, name: pool.name, uri: uri, operation: .delete)
            action.releaseAddresses = pool.allocations.map(\.address)
            actions.append(action)
        }
        for network in state.networks where network.lab == labName {
            actions.append(FleetAction(kind: .network, name: network.name, uri: uri, operation: .delete))
        }
        return actions
    }
}

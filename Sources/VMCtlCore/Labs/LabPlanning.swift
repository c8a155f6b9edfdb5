import Foundation

/// Plans one lab on one connection, kind by kind, in the order apply makes things: pools, groups, networks,
/// routers, domains, then what the lab no longer describes. Each step checks what it refers to and refuses an
/// object that exists without being the lab's.
struct LabPlanning {
    let lab: Lab
    let state: LabObserved
    let labName: String
    let uri: String
    let existingNetworks: Set<String>
    let labNetworks: Set<String>
    let existingGroups: Set<String>
    let labGroups: Set<String>
    let existingPools: Set<String>
    let labPools: Set<String>
    let wantedMembers: Set<String>

    init(lab: Lab, state: LabObserved, labName: String) {
        self.lab = lab
        self.state = state
        self.labName = labName
        uri = state.uri
        existingNetworks = Set(state.networks.map(\.name)).union([VMCtlNames.defaultNetwork])
        labNetworks = Set(lab.networks.map(\.spec.name))
        existingGroups = Set(state.control.effectiveGroups.map(\.name))
        labGroups = Set(lab.securityGroups.map(\.name))
        existingPools = Set(state.control.pools.map(\.name))
        labPools = Set(lab.pools.map(\.name))
        wantedMembers = Set(lab.members.map(\.name))
    }

    func notTheLabs(_ what: String, owner: String?, managed: Bool) -> String {
        "\(what) already exists on \(uri) and is not part of lab '\(labName)' (\(LabPlanner.ownerText(owner, managed: managed)))"
    }

    // MARK: Floating IP pools

    func pools() throws -> [LabAction] {
        try lab.pools.map { pool in
            if let interfaces = state.interfaces, !interfaces.contains(pool.interface) {
                throw pool.origin.error("interface '\(pool.interface)' of pool '\(pool.name)' does not exist on \(uri)")
            }
            if let clash = state.networks.first(where: { network in
                !labNetworks.contains(network.name) && (network.subnet.map { $0.contains(pool.range.start) || $0.contains(pool.range.end) } ?? false)
            }) {
                throw pool.origin.error("address range \(pool.range) lies in network '\(clash.name)' (\(clash.subnet!)) on \(uri)")
            }
            guard let current = state.control.pools.first(where: { $0.name == pool.name }) else {
                return LabAction(.floatingIPPool(pool, releasing: []), name: pool.name, uri: uri, operation: .create,
                                   changes: ["\(pool.range) on \(pool.interface)"])
            }
            guard current.lab == labName else {
                throw pool.origin.error(notTheLabs("floating IP pool '\(pool.name)'", owner: current.lab, managed: true))
            }
            var changes: [String] = []
            if current.interface != pool.interface { changes.append("interface \(current.interface) → \(pool.interface)") }
            if current.range != pool.range { changes.append("range \(current.range) → \(pool.range)") }
            if changes.isEmpty {
                let loose = current.allocations.filter { $0.vm == nil }.map(\.address)
                return LabAction(.floatingIPPool(pool, releasing: loose), name: pool.name, uri: uri,
                                   operation: loose.isEmpty ? .unchanged : .update, changes: loose.map { "release unassociated \($0)" })
            }
            let foreign = current.allocations.filter { allocation in
                allocation.vm.map { vm in state.domain(vm)?.lab?.name != labName } ?? false
            }
            if let held = foreign.first {
                throw pool.origin.error("pool '\(pool.name)' changed (\(changes.joined(separator: ", "))) but \(held.address) is associated with '\(held.vm ?? "")', which is not in the lab")
            }
            return LabAction(.floatingIPPool(pool, releasing: current.allocations.map(\.address)), name: pool.name, uri: uri,
                               operation: .replace, changes: changes)
        }
    }

    // MARK: Security groups

    func securityGroups() throws -> [LabAction] {
        try lab.securityGroups.map { group in
            for (rule, origin) in zip(group.rules, group.ruleOrigins) {
                if case .group(let remote)? = rule.remote, !labGroups.contains(remote), !existingGroups.contains(remote) {
                    throw origin.error("security group '\(remote)' (remote-group) is neither in the lab nor on \(uri)")
                }
            }
            guard let current = state.control.securityGroups.first(where: { $0.name == group.name }) else {
                return LabAction(.securityGroup(group, adding: group.rules, removing: []), name: group.name, uri: uri,
                                   operation: .create, changes: group.rules.map(\.description))
            }
            guard current.lab == labName else {
                throw group.origin.error(notTheLabs("security group '\(group.name)'", owner: current.lab, managed: true))
            }
            let adding = group.rules.filter { rule in !current.rules.contains { rule.matches($0) } }
            let removed = current.rules.filter { rule in !group.rules.contains { $0.matches(rule) } }
            let changes = adding.map { "add rule \($0)" } + removed.map { "remove rule \(LabRule($0))" }
            return LabAction(.securityGroup(group, adding: adding, removing: removed.map(\.id)), name: group.name, uri: uri,
                               operation: changes.isEmpty ? .unchanged : .update, changes: changes)
        }
    }

    // MARK: Networks

    func networks() throws -> [LabAction] {
        try lab.networks.map { network in
            let spec = network.spec
            guard let current = state.network(spec.name) else {
                // A new network must not overlap what the host already has.
                if let clash = state.networks.first(where: { $0.subnet.map { $0.overlaps(spec.subnet) } ?? false }) {
                    throw network.origin.error("subnet \(spec.subnet) overlaps network '\(clash.name)' (\(clash.subnet!)) on \(uri)")
                }
                return LabAction(.network(network), name: spec.name, uri: uri, operation: .create,
                                   changes: ["\(spec.subnet), \(spec.mode.rawValue), DHCP \(spec.dhcp)"])
            }
            guard current.lab == labName else {
                throw network.origin.error(notTheLabs("network '\(spec.name)'", owner: current.lab, managed: current.managed))
            }
            var changes: [String] = []
            if current.subnet != spec.subnet { changes.append("subnet \(current.subnet?.description ?? "none") → \(spec.subnet)") }
            if current.gateway != spec.gateway { changes.append("gateway \(current.gateway?.description ?? "none") → \(spec.gateway)") }
            if current.dhcp != spec.dhcp { changes.append("DHCP \(current.dhcp?.description ?? "none") → \(spec.dhcp)") }
            if current.mode != spec.mode { changes.append("mode \(current.mode?.rawValue ?? "?") → \(spec.mode.rawValue)") }
            if current.domain != spec.domain { changes.append("domain \(current.domain ?? "none") → \(spec.domain)") }
            if changes.isEmpty { return LabAction(.network(network), name: spec.name, uri: uri, operation: .unchanged) }
            let foreign = state.domains.filter { $0.network == spec.name && $0.lab?.name != labName }
            if let vm = foreign.first {
                throw network.origin.error("network '\(spec.name)' must be made again (\(changes.joined(separator: ", "))) but VM '\(vm.name)', not in the lab, is attached")
            }
            return LabAction(.network(network), name: spec.name, uri: uri, operation: .replace, changes: changes)
        }
    }

    // MARK: Routers

    func routers() throws -> [LabAction] {
        try lab.routers.map { router in
            for reference in router.networks where !labNetworks.contains(reference.name) {
                guard state.network(reference.name)?.managed == true else {
                    throw reference.origin.error("network '\(reference.name)' is neither in the lab nor a vmctl network on \(uri)")
                }
            }
            let wanted = router.networks.map(\.name)
            guard let current = state.control.routers.first(where: { $0.name == router.name }) else {
                return LabAction(.router(router, joining: wanted, leaving: []), name: router.name, uri: uri, operation: .create,
                                   changes: wanted.isEmpty ? [] : ["joins \(wanted.joined(separator: ", "))"])
            }
            guard current.lab == labName else {
                throw router.origin.error(notTheLabs("router '\(router.name)'", owner: current.lab, managed: true))
            }
            let joining = wanted.filter { !current.networks.contains($0) }
            let leaving = current.networks.filter { !wanted.contains($0) }
            let changes = joining.map { "join \($0)" } + leaving.map { "leave \($0)" }
            return LabAction(.router(router, joining: joining, leaving: leaving), name: router.name, uri: uri,
                               operation: changes.isEmpty ? .unchanged : .update, changes: changes)
        }
    }

    // MARK: Domains

    func domains(replacedNetworks: Set<String>, replacedPools: Set<String>) throws -> [LabAction] {
        try lab.members.map { member in
            try checkReferences(of: member, replacedNetworks: replacedNetworks)
            guard let current = state.domain(member.name) else {
                return LabAction(.domain(member, LabVMUpdate()), name: member.name, uri: uri, operation: .create,
                                   changes: [LabPlanner.memberSummary(member)])
            }
            guard current.lab?.name == labName else {
                throw member.origin.error(notTheLabs("VM '\(member.name)'", owner: current.lab?.name, managed: current.managed))
            }
            var reasons: [String] = []
            if current.lab?.digest != member.digest { reasons.append("image, network, address, keys or user-data changed") }
            if replacedNetworks.contains(member.network.name) { reasons.append("network \(member.network.name) is made again") }
            if let disk = current.disk, member.disk < disk { reasons.append("disk \(disk) → \(member.disk) cannot shrink") }
            if !reasons.isEmpty {
                return LabAction(.domain(member, LabVMUpdate()), name: member.name, uri: uri, operation: .replace, changes: reasons)
            }
            let (update, changes) = try self.update(of: member, from: current, replacedPools: replacedPools)
            return LabAction(.domain(member, update), name: member.name, uri: uri,
                               operation: changes.isEmpty ? .unchanged : .update, changes: changes)
        }
    }

    /// A member refers to the lab's own objects or ones already on the host, and asks for a free address.
    func checkReferences(of member: LabVM, replacedNetworks: Set<String>) throws {
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
    }

    /// What apply changes on a member's existing VM without making it again, and those changes in words.
    func update(of member: LabVM, from current: LabObserved.Domain,
                replacedPools: Set<String>) throws -> (LabVMUpdate, [String]) {
        var update = LabVMUpdate()
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
        return (update, changes)
    }

    // MARK: Deletions: what the lab made and its files no longer describe

    func deletions() throws -> [LabAction] {
        let left = Self.leftOvers(on: state, lab: labName) { kind, name in
            switch kind {
            case .domain: wantedMembers.contains(name)
            case .router: lab.routers.contains { $0.name == name }
            case .securityGroup: labGroups.contains(name)
            case .floatingIPPool: labPools.contains(name)
            case .network: labNetworks.contains(name)
            case .lab: true
            }
        }
        for action in left where action.kind == .securityGroup {
            let members = state.domains.filter { $0.securityGroups.contains(action.name) && !($0.lab?.name == labName) }
            if let member = members.first {
                throw VMCtlError.conflict("security group '\(action.name)' of lab '\(labName)' is no longer in its files, but VM '\(member.name)' (not in the lab) is in it")
            }
        }
        for action in left where action.kind == .network {
            let attached = state.domains.filter { $0.network == action.name && !($0.lab?.name == labName && !wantedMembers.contains($0.name)) }
            if let vm = attached.first {
                throw VMCtlError.conflict("network '\(action.name)' of lab '\(labName)' is no longer in its files, but VM '\(vm.name)' is still attached")
            }
        }
        return left
    }

    /// Everything `lab` made on this connection that `isDescribed` does not keep: domains first, networks last
    /// (the order destroy deletes them in).
    static func leftOvers(on state: LabObserved, lab labName: String,
                          isDescribed: (LabKind, String) -> Bool) -> [LabAction] {
        let uri = state.uri
        var actions: [LabAction] = []
        for domain in state.domains.sorted(by: { $0.name < $1.name }) where domain.lab?.name == labName && !isDescribed(.domain, domain.name) {
            let floating = state.floatingIP(of: domain.name).map { [$0.address] } ?? []
            actions.append(.deletion(.domain, domain.name, uri: uri, releasing: floating))
        }
        for router in state.control.routers where router.lab == labName && !isDescribed(.router, router.name) {
            actions.append(.deletion(.router, router.name, uri: uri))
        }
        for group in state.control.securityGroups where group.lab == labName && !isDescribed(.securityGroup, group.name) {
            actions.append(.deletion(.securityGroup, group.name, uri: uri))
        }
        for pool in state.control.pools where pool.lab == labName && !isDescribed(.floatingIPPool, pool.name) {
            actions.append(.deletion(.floatingIPPool, pool.name, uri: uri, releasing: pool.allocations.map(\.address)))
        }
        for network in state.networks where network.lab == labName && !isDescribed(.network, network.name) {
            actions.append(.deletion(.network, network.name, uri: uri))
        }
        return actions
    }
}

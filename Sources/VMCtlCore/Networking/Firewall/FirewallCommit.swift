import Foundation
import Libvirt
import LibvirtXML

extension FloatingIPBinding {
    static func objectName(_ address: IPv4Address, vm: String) -> String { "floating IP \(address) of VM '\(vm)'" }
}

extension FirewallState {
    /// The largest part of this state that renders, and what had to be left out. State made invalid from
    /// outside (an interface or network gone, a definition edited by hand) costs only the objects it
    /// breaks, never the rules of everything else. When the whole state renders it is returned as is;
    /// otherwise it is rebuilt object by object, in dependency order, keeping each one that still renders.
    public func renderable() -> (state: FirewallState, leftOut: [LeftOutObject]) {
        do {
            _ = try FirewallRenderer.render(self)
            return (self, [])
        } catch {}
        // Fields not handled below are kept as they are.
        var kept = self
        kept.networks = []
        kept.securityGroups = []
        kept.guests = []
        kept.routers = []
        kept.floatingIPs = []
        kept.forwards = []
        kept.ports = []
        var leftOut: [LeftOutObject] = []
        @discardableResult
        func attempt(_ object: String, _ add: (inout FirewallState) -> Void) -> Bool {
            var candidate = kept
            add(&candidate)
            do {
                _ = try FirewallRenderer.render(candidate)
                kept = candidate
                return true
            } catch {
                leftOut.append(LeftOutObject(object: object, reason: "\(error)"))
                return false
            }
        }
        for network in networks { attempt("network '\(network.name)'") { $0.networks.append(network) } }
        // Groups first without rules, then each rule: a rule may name any group as its remote.
        for group in securityGroups {
            var empty = group
            empty.rules = []
            attempt("security group '\(group.name)'") { $0.securityGroups.append(empty) }
        }
        for group in securityGroups {
            guard let index = kept.securityGroups.firstIndex(where: { $0.name == group.name }) else { continue }
            for rule in group.rules {
                attempt("rule '\(rule.id)' of security group '\(group.name)'") { $0.securityGroups[index].rules.append(rule) }
            }
        }
        for guest in guests { attempt("VM '\(guest.vm)'") { $0.guests.append(guest) } }
        // A port left out of the bridge table could send as anyone: one whose addresses cannot be kept is
        // kept with none, so it can still ask for DHCP but sends nothing else.
        for port in ports where !attempt("port '\(port.port)' of VM '\(port.vm)'", { $0.ports.append(port) }) {
            var quarantined = port
            quarantined.addresses = []
            attempt("port '\(port.port)' of VM '\(port.vm)' without addresses") { $0.ports.append(quarantined) }
        }
        for router in routers { attempt("router '\(router.name)'") { $0.routers.append(router) } }
        for binding in floatingIPs {
            attempt(FloatingIPBinding.objectName(binding.address, vm: binding.vm)) { $0.floatingIPs.append(binding) }
        }
        for forward in forwards { attempt("port forward '\(forward.name)' of VM '\(forward.vm)'") { $0.forwards.append(forward) } }
        return (kept, leftOut)
    }
}

extension FirewallStateBuilder {
    /// The state the host's rules are made of: what `inputs` record, less what cannot be applied.
    static func renderableState(of inputs: FirewallInputs, interfaceExists: (String) -> Bool)
        -> (state: FirewallState, leftOut: [LeftOutObject]) {
        let built = state(of: inputs, interfaceExists: interfaceExists)
        let rendered = built.state.renderable()
        return (rendered.state, built.leftOut + rendered.leftOut)
    }

    /// Refuses a change when the rules of `staged` would leave out an object that those of `current` keep:
    /// a user's change that cannot be rendered is refused, while what was already broken from outside (and
    /// is left out already) does not block unrelated changes.
    static func admit(_ staged: FirewallInputs, over current: FirewallInputs, interfaceExists: (String) -> Bool) throws {
        let after = renderableState(of: staged, interfaceExists: interfaceExists).leftOut
        guard !after.isEmpty else { return }
        let before = Set(renderableState(of: current, interfaceExists: interfaceExists).leftOut.map(\.object))
        if let new = after.first(where: { !before.contains($0.object) }) {
            throw VMCtlError.conflict("refused, nothing was changed: \(new.reason) (\(new.object))")
        }
    }
}

extension Firewall {
    /// Changes firewall-relevant state in three steps, under the host-wide lock from the first read to the
    /// last write (so checks like "this host port is free" hold when the change lands): stage the change
    /// on the inputs as read, render the resulting rules, and only if they render save the changed
    /// metadata and control state. Then the rules are applied where vmctl can (the libvirt host; a remote
    /// host's watcher applies them on its next round).
    @discardableResult
    public func commit<T>(reconcile: Bool = true, _ stage: (inout FirewallChange) throws -> T) throws -> T {
        let result: T
        do {
            let lock = try HostLock.acquire(ControlStore.lockName)
            defer { lock.release() }
            let builder = FirewallStateBuilder(session: session)
            let current = try builder.read()
            if let (vm, reason) = current.unreadableVMs.min(by: { $0.key < $1.key }) {
                throw VMCtlError.conflict("\(reason); nothing is changed until it is repaired (virsh edit \(vm)) or the VM is deleted")
            }
            var change = FirewallChange(inputs: current)
            result = try stage(&change)
            guard change.inputs != current else { return result }
            try FirewallStateBuilder.admit(change.inputs, over: current, interfaceExists: interfaceExists)
            let instances = VMs(session: session)
            // VMs first: a change touches either VMs or the control state, never both in one commit
            // today, so no partial write can split one change.
            for vm in change.changedVMs {
                let metadata = change.inputs.vms.first { $0.name == vm }!.metadata
                try instances.writeMetadata(metadata, to: try instances.domain(named: vm))
            }
            if change.control != current.control { try ControlStore(session: session).save(change.control) }
        }
        if reconcile && session.isLocal { try self.reconcile() }
        return result
    }

    /// Refuses a VM about to be defined (a clone, whose address is already reserved) when the rules with it
    /// would not render; defining it is the commit.
    func admit(newVM vm: FirewallInputs.VM) throws {
        let current = try FirewallStateBuilder(session: session).read()
        var staged = current
        staged.vms.append(vm)
        try FirewallStateBuilder.admit(staged, over: current, interfaceExists: interfaceExists)
    }

    /// Unbinds a VM that is about to be deleted from what is recorded outside it: its floating IP stays
    /// allocated to the project but is no longer associated, so a new VM of the same name does not get it.
    /// (Its forwards and groups live in its own definition and go with it.) Only the control state is
    /// read: taking bindings away cannot make the rules fail to render, and a VM whose metadata (or
    /// another's) cannot be read must still be deletable.
    public func forget(vm: String) throws {
        let lock = try HostLock.acquire(ControlStore.lockName)
        defer { lock.release() }
        let store = ControlStore(session: session)
        let recorded = try store.load()
        var control = recorded
        for p in control.pools.indices {
            for a in control.pools[p].allocations.indices where control.pools[p].allocations[a].vm == vm {
                control.pools[p].allocations[a].vm = nil
                control.pools[p].allocations[a].instanceID = nil
            }
        }
        if control != recorded { try store.save(control) }
    }

    /// Whether the host has an interface of this name; a remote host's interfaces are not visible, and
    /// its own vmctl checks them when it applies.
    func interfaceExists(_ name: String) -> Bool {
        !session.isLocal || if_nametoindex(name) != 0
    }
}

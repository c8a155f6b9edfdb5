import Foundation

public typealias LabReporter = @Sendable (LabEvent) -> Void

/// Runs a plan: routers the lab drops, then pools, groups, networks and routers (in that order), then the domains' deletions, then
/// the domains themselves in parallel (bounded), each waited for until ready, and last what the lab no longer has,
/// networks at the very end. A failure is recorded against its object and the run goes on with the others.
public final class LabApplier: @unchecked Sendable {
    let lab: Lab
    let sessions: [String: Session]
    let options: LabApplyOptions
    let report: LabReporter
    private let started = ContinuousClock.now
    private let lock = NSLock()
    private var failures: [LabFailure] = []
    /// Changes that re-apply the firewall run one at a time: two reconciles at once race on the host's
    /// addresses and rules. Boots and readiness waits, the long part, stay parallel.
    private let changing = NSLock()

    public init(lab: Lab, sessions: [String: Session], options: LabApplyOptions, report: @escaping LabReporter) {
        self.lab = lab
        self.sessions = sessions
        self.options = options
        self.report = report
    }

    var elapsed: Double {
        let duration = ContinuousClock.now - started
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    func emit(_ subject: String, _ kind: LabEvent.Kind, _ message: String) {
        report(LabEvent(subject: subject, kind: kind, message: message, elapsed: elapsed))
    }

    func fail(_ subject: String, _ error: Error) {
        let message = (error as? VMCtlError)?.description ?? "\(error)"
        lock.withLock { failures.append(LabFailure(subject: subject, message: message)) }
        emit(subject, .failed, message)
    }

    /// Runs `body`; an error is recorded against `subject`. Returns whether it succeeded.
    @discardableResult
    func attempt(_ subject: String, _ body: () throws -> Void) -> Bool {
        do {
            try body()
            return true
        } catch {
            fail(subject, error)
            return false
        }
    }

    func session(_ uri: String) throws -> Session {
        guard let session = sessions[uri] else { throw VMCtlError(.unavailable, "no connection to \(uri)") }
        return session
    }

    /// Domains go by their name alone, other objects by kind and name (`network fl-calc`).
    static func label(_ action: LabAction) -> String { action.kind == .domain ? action.name : "\(action.kind.label) \(action.name)" }

    /// The subject a failure of this action is recorded under (members by their name alone).
    public static func subject(of action: LabAction) -> String {
        label(action)
    }

    // MARK: Running a plan

    public func run(_ plan: LabPlan) -> LabApplyResult {
        let byURI = Dictionary(grouping: plan.actions, by: \.uri)
        // Routers the lab drops go first: a router is only firewall rules, and one the firewall cannot render
        // (a half-applied lab from an older vmctl) would fail every later step's firewall update.
        for action in plan.actions where action.kind == .router && action.operation == .delete {
            attempt(Self.label(action)) {
                try deleteObject(action, session: try session(action.uri))
                emit(Self.label(action), .done, "deleted")
            }
        }
        for uri in lab.uris {
            guard let actions = byURI[uri], let session = sessions[uri] else { continue }
            prepare(actions, session: session)
        }
        // Domains: deletions first (sequential, quick), then every member in parallel.
        let deletions = plan.actions.filter { $0.kind == .domain && ($0.operation == .delete || $0.operation == .replace) }
        runParallel(deletions) { action in
            self.attempt(Self.label(action)) {
                let session = try self.session(action.uri)
                // A network made again has already taken its replaced domains with it.
                guard try VMs(session: session).exists(action.name) || action.operation == .delete else { return }
                try self.changing.withLock { try self.deleteDomain(action.name, releasing: action.releasing, session: session) }
                self.emit(Self.label(action), action.operation == .delete ? .done : .progress, "deleted")
            }
        }
        let work = plan.actions.filter { action in
            action.kind == .domain && action.operation != .delete && action.member.map { $0.state == .running || action.operation != .unchanged } == true
        }
        runParallel(work) { action in self.converge(action) }
        for uri in lab.uris {
            guard let actions = byURI[uri], let session = sessions[uri] else { continue }
            removeLeftOut(actions, session: session)
        }
        return LabApplyResult(plan: plan, failures: lock.withLock { failures }, seconds: elapsed)
    }

    /// Bounded parallelism on threads started here: they inherit the libvirtd network namespace vmctl joined
    /// on this thread, which readiness probes need.
    func runParallel<Item: Sendable>(_ items: [Item], _ body: @escaping @Sendable (Item) -> Void) {
        guard !items.isEmpty else { return }
        let queue = WorkQueue(items)
        let group = DispatchGroup()
        for _ in 0..<max(1, min(options.parallel, items.count)) {
            group.enter()
            let thread = Thread {
                while let item = queue.next() { body(item) }
                group.leave()
            }
            thread.stackSize = 4 << 20
            thread.start()
        }
        group.wait()
    }

    final class WorkQueue<Item: Sendable>: @unchecked Sendable {
        private var items: [Item]
        private let lock = NSLock()
        init(_ items: [Item]) { self.items = items.reversed() }
        func next() -> Item? { lock.withLock { items.popLast() } }
    }

    // MARK: Before the domains: pools, groups, networks, routers

    func prepare(_ actions: [LabAction], session: Session) {
        let networks = Networks(session: session)
        let pools = FloatingIPs(session: session)
        let groups = SecurityGroups(session: session)
        let routers = Routers(session: session)
        let instances = VMs(session: session)

        // Objects made again go first: their lab domains are deleted, then the object.
        // Objects made again go first: their lab domains are deleted, then the object.
        for action in actions where action.operation == .replace {
            guard case .network = action.subject else { continue }
            attempt(Self.label(action)) {
                for vm in actions where vm.operation == .replace && vm.member?.network.name == action.name {
                    if try instances.exists(vm.name) {
                        try deleteDomain(vm.name, releasing: vm.releasing, session: session)
                    }
                }
                try networks.delete(action.name, force: false)
            }
        }
        for action in actions where action.operation == .replace {
            guard case .floatingIPPool(_, let releasing) = action.subject else { continue }
            attempt(Self.label(action)) {
                try release(releasing, session: session)
                try pools.deletePool(name: action.name)
            }
        }
        for action in actions {
            guard case .floatingIPPool(let pool, let releasing) = action.subject else { continue }
            switch action.operation {
            case .create, .replace:
                attempt(Self.label(action)) {
                    _ = try pools.createPool(name: pool.name, interface: pool.interface, range: pool.range, lab: lab.name)
                    emit(Self.label(action), .done, "created")
                }
            case .update:
                attempt(Self.label(action)) {
                    try release(releasing, session: session)
                    emit(Self.label(action), .done, "updated")
                }
            case .unchanged, .delete:
                break
            }
        }
        // Groups exist before any rule names one as its remote.
        var usable: Set<String> = []
        for action in actions where action.operation == .create {
            guard case .securityGroup = action.subject else { continue }
            if attempt(Self.label(action), { _ = try groups.create(action.name, lab: lab.name) }) { usable.insert(action.name) }
        }
        for action in actions where action.operation == .update || usable.contains(action.name) {
            guard case .securityGroup(_, let adding, let removing) = action.subject else { continue }
            attempt(Self.label(action)) {
                for id in removing { try groups.removeRule(from: action.name, id: id) }
                for rule in adding {
                    _ = try groups.addRule(to: action.name, proto: rule.proto, ports: rule.ports, remote: rule.remote)
                }
                emit(Self.label(action), .done, action.operation == .update ? "updated" : "created")
            }
        }
        for action in actions where action.operation == .create || action.operation == .replace {
            guard case .network(let network) = action.subject else { continue }
            attempt(Self.label(action)) {
                _ = try networks.create(network.spec)
                emit(Self.label(action), .done, "\(action.operation == .replace ? "made again" : "created") (\(network.spec.subnet))")
            }
        }
        for action in actions where action.operation == .create || action.operation == .update {
            guard case .router(_, let joining, let leaving) = action.subject else { continue }
            attempt(Self.label(action)) {
                if action.operation == .create { _ = try routers.create(action.name, lab: lab.name) }
                for network in leaving { try routers.remove(action.name, network: network) }
                for network in joining { try routers.add(action.name, network: network) }
                emit(Self.label(action), .done, action.operation == .update ? "updated" : "created")
            }
        }
    }

    // MARK: After the domains: what the lab no longer has

    func removeLeftOut(_ actions: [LabAction], session: Session) {
        for kind in [LabKind.securityGroup, .floatingIPPool, .network] {
            for action in actions where action.kind == kind && action.operation == .delete {
                attempt(Self.label(action)) {
                    // A router left joining a deleted network would make every later firewall apply fail.
                    if kind == .network, let router = try Routers(session: session).list().first(where: { $0.networks.contains(action.name) }) {
                        throw VMCtlError.conflict("not deleted: router '\(router.name)' still joins it")
                    }
                    try deleteObject(action, session: session)
                    emit(Self.label(action), .done, "deleted")
                }
            }
        }
    }

    func deleteObject(_ action: LabAction, session: Session) throws {
        switch action.kind {
        case .router: try Routers(session: session).delete(action.name)
        case .securityGroup: try SecurityGroups(session: session).delete(action.name)
        case .floatingIPPool:
            try release(action.releasing, session: session)
            try FloatingIPs(session: session).deletePool(name: action.name)
        case .network: try Networks(session: session).delete(action.name, force: false)
        case .domain: try deleteDomain(action.name, releasing: action.releasing, session: session)
        case .lab: break
        }
    }

    /// Gives addresses back to their pools (disassociating first where needed); missing ones are fine.
    func release(_ addresses: [IPv4Address], session: Session) throws {
        guard !addresses.isEmpty else { return }
        let pools = FloatingIPs(session: session)
        let entries = try pools.list()
        for address in addresses {
            guard let entry = entries.first(where: { $0.address == address }) else { continue }
            // Whether it worked is read back right after: an address still associated is not released.
            if entry.vm != nil { try? pools.disassociate(address) }
            if try pools.list().first(where: { $0.address == address })?.vm == nil {
                try pools.release(address)
            }
        }
    }

    func deleteDomain(_ name: String, releasing floating: [IPv4Address], session: Session) throws {
        try release(floating, session: session)
        try VMs(session: session).delete(name, keepDisks: false)
    }

    // MARK: One member

    func converge(_ action: LabAction) {
        guard case .domain(let member, let planned) = action.subject else { return }
        let subject = member.name
        do {
            let session = try session(member.uri)
            if session.isLocal { _ = try HostNamespace.joinLibvirtd() }
            var problems: [String] = []
            switch action.operation {
            case .create, .replace:
                try create(member, session: session, problems: &problems)
            case .update:
                try update(member, planned, session: session, problems: &problems)
            default:
                break
            }
            if member.state == .running {
                let address = try waitReady(member, session: session)
                // Unchanged members are only checked: nothing to report when they are ready.
                if problems.isEmpty && action.operation != .unchanged {
                    let what = action.operation == .update ? "updated" : (action.operation == .replace ? "made again" : "created")
                    emit(subject, .done, "\(what), ready (\(address), \(member.readiness.map(\.description).joined(separator: ", ")))")
                }
            } else if problems.isEmpty {
                emit(subject, .done, action.operation == .update ? "updated" : "created (stopped)")
            }
            if !problems.isEmpty { throw VMCtlError.failed(problems.joined(separator: "; ")) }
        } catch {
            fail(subject, error)
        }
    }

    func create(_ member: LabVM, session: Session, problems: inout [String]) throws {
        let instances = VMs(session: session, notice: { [self] message in emit(member.name, .progress, message) })
        removeOrphanPins(of: member, session: session)
        emit(member.name, .progress, "creating (\(LabPlanner.memberSummary(member)))")
        let storage = Storage(session: session)
        _ = try changing.withLock {
            try instances.create(try member.instanceSpec(lab: lab.name), start: false) { image in
                if image == TinyImage.name { return try TinyImage.ensure(in: storage, notice: { _ in }) }
                return try storage.image(named: image).info
            }
        }
        // Groups, forwards and the floating IP are in place before the guest boots.
        var first = LabVMUpdate()
        first.attachGroups = member.securityGroups.map(\.name)
        first.addForwards = member.forwards
        first.floatingPool = member.floatingPool?.name
        first.start = member.state == .running
        try update(member, first, session: session, problems: &problems)
    }

    /// Networking steps that fail (the firewall refusing, say) are collected as problems and the rest goes on,
    /// so the VM still boots and the next apply retries only what is missing.
    func update(_ member: LabVM, _ update: LabVMUpdate, session: Session, problems: inout [String]) throws {
        let name = member.name
        let instances = VMs(session: session)
        func step(_ body: () throws -> Void) {
            do { try changing.withLock { try body() } } catch { problems.append((error as? VMCtlError)?.description ?? "\(error)") }
        }
        if let resize = update.resize {
            let changes = try changing.withLock { try instances.resize(name, resize, restart: update.restart) }
            emit(name, .progress, "resized: " + changes.map { "\($0.resource) \($0.from) → \($0.to)" }.joined(separator: ", "))
        }
        if update.reserveAddress {
            try changing.withLock { try instances.ensurePinned(name, requested: member.address) }
            emit(name, .progress, "address reserved")
        }
        for forward in update.removeForwards { step { try PortForwards(session: session).remove(vm: name, name: forward) } }
        for group in update.detachGroups { step { try SecurityGroups(session: session).detach(vm: name, group: group) } }
        for group in update.attachGroups { step { try SecurityGroups(session: session).attach(vm: name, group: group) } }
        for forward in update.addForwards { step { _ = try PortForwards(session: session).add(vm: name, rule: forward) } }
        if let old = update.releaseFloatingIP { step { try release([old], session: session) } }
        if let pool = update.floatingPool {
            step {
                let pools = FloatingIPs(session: session)
                let address = try pools.allocate(pool: pool)
                do {
                    try pools.associate(address, vm: name)
                } catch {
                    if try pools.list().first(where: { $0.address == address })?.vm == nil {
                        try? pools.release(address)
                    }
                    throw error
                }
                emit(name, .progress, "floating IP \(address)")
            }
        }
        if update.stop { try instances.stop(name, force: false, timeout: 60) }
        if update.start {
            try instances.start(name)
            emit(name, .progress, "started")
        }
    }

    /// DHCP host entries named for the member whose MAC no VM has: what a create killed half way left.
    func removeOrphanPins(of member: LabVM, session: Session) {
        // Cleanup of what an interrupted create left: when the host cannot be read, nothing is removed.
        guard let observed = try? LabObserver(session: session).observe(),
              let network = observed.network(member.network.name) else { return }
        let macs = Set(observed.domains.compactMap(\.mac))
        let orphans = network.hosts.filter { host in
            !macs.contains(host.mac) && (host.name == member.name || host.address == member.address)
        }
        guard !orphans.isEmpty else { return }
        emit(member.name, .progress, "removing \(orphans.count) address reservation(s) left by an interrupted create")
        Networks(session: session).unpin(macs: orphans.map(\.mac), on: network.name)
    }

    // MARK: Readiness

    /// Waits until every readiness check of the member passes; returns its address.
    func waitReady(_ member: LabVM, session: Session) throws -> IPv4Address {
        try LabReadinessProbe(session: session).wait(member, timeout: options.timeout)
    }
}

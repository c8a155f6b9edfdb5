import Foundation

/// The lab-wide operations behind `vmctl plan/apply/destroy/status` and `snapshot --lab`.
public enum Labs {
    /// Opens one session per connection the lab uses.
    public static func sessions(for lab: Lab, open: (String) throws -> Session) throws -> [String: Session] {
        var sessions: [String: Session] = [:]
        for uri in lab.uris { sessions[uri] = try open(uri) }
        return sessions
    }

    public static func observe(_ lab: Lab, sessions: [String: Session]) throws -> [String: LabObserved] {
        var observed: [String: LabObserved] = [:]
        for uri in lab.uris {
            guard let session = sessions[uri] else { throw VMCtlError(.unavailable, "no connection to \(uri)") }
            observed[uri] = try LabObserver(session: session).observe()
        }
        return observed
    }

    public static func plan(_ lab: Lab, sessions: [String: Session]) throws -> (plan: LabPlan, observed: [String: LabObserved]) {
        let observed = try observe(lab, sessions: sessions)
        return (try LabPlanner.plan(lab, observed: observed), observed)
    }

    /// Plans under the lab's lock and runs the plan. Errors in the files or conflicts on the host throw before
    /// anything changes; failures while changing are in the result.
    public static func apply(_ lab: Lab, sessions: [String: Session], options: LabApplyOptions,
                             notice: (String) -> Void, planned: (LabPlan) -> Void,
                             report: @escaping LabReporter) throws -> LabApplyResult {
        let lock = try LabLock.acquire(lab: lab.name, notice: notice)
        defer { lock.release() }
        let (plan, _) = try plan(lab, sessions: sessions)
        planned(plan)
        return LabApplier(lab: lab, sessions: sessions, options: options, report: report).run(plan)
    }

    /// Deletes everything the lab made on its connections (by ownership, whatever the files say now): routers
    /// first, then domains, groups and pools, networks last.
    public static func destroy(_ lab: Lab, sessions: [String: Session], options: LabApplyOptions,
                               notice: (String) -> Void, planned: (LabPlan) -> Void,
                               report: @escaping LabReporter) throws -> LabApplyResult {
        let lock = try LabLock.acquire(lab: lab.name, notice: notice)
        defer { lock.release() }
        let observed = try observe(lab, sessions: sessions)
        let actions = lab.uris.flatMap { LabPlanner.destroy(lab: lab.name, state: observed[$0]!) }
        let plan = LabPlan(lab: lab.name, actions: actions)
        planned(plan)
        return LabApplier(lab: lab, sessions: sessions, options: options, report: report).run(plan)
    }

    public static func status(_ lab: Lab, sessions: [String: Session]) throws -> LabStatus {
        let observed = try observe(lab, sessions: sessions)
        var members: [LabVMStatus] = []
        for member in lab.members {
            let state = observed[member.uri]!
            let probe = LabReadinessProbe(session: sessions[member.uri]!)
            guard let domain = state.domain(member.name) else {
                members.append(LabVMStatus(
                    name: member.name, uri: member.uri, state: "missing", network: member.network.name, address: nil, forwards: [],
                    floatingIP: nil, securityGroups: [], readiness: member.readiness.map(\.description), ready: false,
                    problem: "not created (vmctl apply)"))
                continue
            }
            let owned = domain.lab?.name == lab.name
            var problem: String?
            if !owned {
                problem = "a VM of this name exists outside the lab"
            } else if member.state == .running {
                if !domain.running {
                    problem = "not running"
                } else if let address = domain.address {
                    problem = probe.check(member, address: address)
                } else {
                    problem = "no pinned address"
                }
            }
            let forwards = domain.forwards.map { forward in
                "\(forward.hostAddress?.description ?? "*"):\(forward.hostPort)/\(forward.proto.rawValue) → \(forward.guestPort)"
            }
            members.append(LabVMStatus(
                name: member.name, uri: member.uri, state: owned ? (domain.running ? "running" : "shut off") : "foreign",
                network: domain.network ?? member.network.name, address: domain.address?.description, forwards: forwards,
                floatingIP: state.floatingIP(of: member.name)?.address.description,
                securityGroups: domain.securityGroups.isEmpty ? [SecurityGroup.defaultName] : domain.securityGroups,
                readiness: member.readiness.map(\.description), ready: problem == nil, problem: problem))
        }
        var objects: [LabObjectStatus] = []
        for network in lab.networks {
            let present = observed[network.uri]!.network(network.spec.name)?.lab == lab.name
            objects.append(LabObjectStatus(kind: LabKind.network.label, name: network.spec.name, uri: network.uri, present: present))
        }
        for router in lab.routers {
            let present = observed[router.uri]!.control.routers.contains { $0.name == router.name && $0.lab == lab.name }
            objects.append(LabObjectStatus(kind: LabKind.router.label, name: router.name, uri: router.uri, present: present))
        }
        for group in lab.securityGroups {
            let present = observed[group.uri]!.control.securityGroups.contains { $0.name == group.name && $0.lab == lab.name }
            objects.append(LabObjectStatus(kind: LabKind.securityGroup.label, name: group.name, uri: group.uri, present: present))
        }
        for pool in lab.pools {
            let present = observed[pool.uri]!.control.pools.contains { $0.name == pool.name && $0.lab == lab.name }
            objects.append(LabObjectStatus(kind: LabKind.floatingIPPool.label, name: pool.name, uri: pool.uri, present: present))
        }
        var leftOver: [String] = []
        for uri in lab.uris {
            let part = lab.on(uri)
            for action in LabPlanner.destroy(lab: lab.name, state: observed[uri]!) {
                let described = switch action.kind {
                case .domain: part.members.contains { $0.name == action.name }
                case .network: part.networks.contains { $0.spec.name == action.name }
                case .router: part.routers.contains { $0.name == action.name }
                case .securityGroup: part.securityGroups.contains { $0.name == action.name }
                case .floatingIPPool: part.pools.contains { $0.name == action.name }
                case .lab: true
                }
                if !described { leftOver.append("\(action.kind.label) \(action.name)") }
            }
        }
        return LabStatus(lab: lab.name, members: members, objects: objects, leftOver: leftOver)
    }

    public enum SnapshotOperation: String, Sendable { case create, revert, delete }

    /// Snapshots, reverts or deletes `name` on every VM the lab owns, in parallel (bounded); one VM failing
    /// does not stop the others.
    public static func snapshot(_ lab: Lab, sessions: [String: Session], operation: SnapshotOperation, name: String,
                                parallel: Int = 4, notice: @escaping @Sendable (String) -> Void) throws -> LabSnapshotResult {
        let lock = try LabLock.acquire(lab: lab.name, notice: notice)
        defer { lock.release() }
        let observed = try observe(lab, sessions: sessions)
        var vms: [(name: String, uri: String)] = []
        for uri in lab.uris {
            for domain in observed[uri]!.domains where domain.lab?.name == lab.name { vms.append((domain.name, uri)) }
        }
        guard !vms.isEmpty else { throw VMCtlError(.notFound, "lab '\(lab.name)' has no VMs on \(lab.uris.joined(separator: ", ")) (vmctl apply first)") }
        let applier = LabApplier(lab: lab, sessions: sessions, options: LabApplyOptions(parallel: parallel), report: { _ in })
        let done = DoneList()
        applier.runParallel(vms) { action in
            applier.attempt(action.name) {
                let snapshots = Snapshots(session: try applier.session(action.uri), notice: { notice("\(action.name): \($0)") })
                switch operation {
                case .create:
                    let info = try snapshots.create(vm: action.name, name: name)
                    done.add("\(action.name): created \(info.kind.rawValue) snapshot '\(name)' (\(info.includesMemory ? "RAM and disks" : "disks"))")
                case .revert:
                    let info = try snapshots.revert(vm: action.name, name: name)
                    done.add("\(action.name): reverted to '\(name)' (\(info.includesMemory ? info.state : "shut off"))")
                case .delete:
                    _ = try snapshots.delete(vm: action.name, name: name)
                    done.add("\(action.name): deleted snapshot '\(name)'")
                }
            }
        }
        let failures = applier.run(LabPlan(lab: lab.name, actions: [])).failures
        return LabSnapshotResult(done: done.items.sorted(), failures: failures.sorted { $0.subject < $1.subject })
    }

    final class DoneList: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [String] = []
        func add(_ item: String) { lock.withLock { list.append(item) } }
        var items: [String] { lock.withLock { list } }
    }
}

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
        let planning = FleetPlanning(lab: lab, state: state, labName: labName)
        let pools = try planning.pools()
        let groups = try planning.securityGroups()
        let networks = try planning.networks()
        let routers = try planning.routers()
        func replaced(_ actions: [FleetAction]) -> Set<String> { Set(actions.filter { $0.operation == .replace }.map(\.name)) }
        let domains = try planning.domains(replacedNetworks: replaced(networks), replacedPools: replaced(pools))
        let actions = pools + groups + networks + routers + domains + (try planning.deletions())
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
        FleetPlanning.leftOvers(on: state, lab: labName) { _, _ in false }
    }
}

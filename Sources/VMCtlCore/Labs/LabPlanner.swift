import Foundation

/// Plans a lab: a pure function of the files (`Lab`) and what each connection holds (`LabObserved`).
/// Objects the lab created carry its name in their vmctl metadata; only those are updated or deleted. An object
/// the lab describes that exists without being the lab's is a conflict, never taken over.
public enum LabPlanner {
    public static func plan(_ lab: Lab, observed: [String: LabObserved]) throws -> LabPlan {
        var actions: [LabAction] = []
        for uri in lab.uris {
            guard let state = observed[uri] else { throw VMCtlError(.unavailable, "no state read from \(uri)") }
            actions += try plan(lab.on(uri), state: state, labName: lab.name)
        }
        return LabPlan(lab: lab.name, actions: actions)
    }

    static func ownerText(_ lab: String?, managed: Bool) -> String {
        if let lab { return "it belongs to lab '\(lab)'" }
        return managed ? "it was made by hand" : "vmctl did not make it"
    }

    static func plan(_ lab: Lab, state: LabObserved, labName: String) throws -> [LabAction] {
        let planning = LabPlanning(lab: lab, state: state, labName: labName)
        let pools = try planning.pools()
        let groups = try planning.securityGroups()
        let networks = try planning.networks()
        let routers = try planning.routers()
        func replaced(_ actions: [LabAction]) -> Set<String> { Set(actions.filter { $0.operation == .replace }.map(\.name)) }
        let domains = try planning.domains(replacedNetworks: replaced(networks), replacedPools: replaced(pools))
        let actions = pools + groups + networks + routers + domains + (try planning.deletions())
        try LabFirewall.check(lab, state: state, actions: actions, labName: labName)
        return actions.sorted { ($0.kind, $0.name) < ($1.kind, $1.name) }
    }

    static func memberSummary(_ member: LabVM) -> String {
        var text = "\(member.image), \(member.cpus) vCPU, \(member.memory), \(member.network.name)"
        if let address = member.address { text += " \(address)" }
        if let pool = member.floatingPool { text += ", floating IP from \(pool.name)" }
        if member.state == .stopped { text += ", stopped" }
        return text
    }

    /// Destroy: everything the lab made on this connection, whatever its files say now; domains first, networks last.
    public static func destroy(lab labName: String, state: LabObserved) -> [LabAction] {
        LabPlanning.leftOvers(on: state, lab: labName) { _, _ in false }
    }
}

/// Routers join networks: guests on joined networks reach each other; without a router they do not.
public struct Routers {
    let session: Session
    let store: ControlStore

    public init(session: Session) {
        self.session = session
        self.store = ControlStore(session: session)
    }

    public func create(_ name: String, lab: String? = nil) throws -> Router {
        try ResourceName.validate(name, kind: "router")
        return try store.update { state in
            if state.routers.contains(where: { $0.name == name }) { throw VMCtlError.alreadyExists("router", name) }
            var router = Router(name: name, networks: [])
            router.lab = lab
            state.routers.append(router)
            return router
        }
    }

    public func list() throws -> [Router] { try store.load().routers }

    public func delete(_ name: String) throws {
        try store.update { state in
            guard state.routers.contains(where: { $0.name == name }) else {
                throw VMCtlError.notFound("router", name, known: state.routers.map(\.name))
            }
            state.routers.removeAll { $0.name == name }
        }
        _ = try Firewall(session: session).reconcile()
    }

    public func add(_ name: String, network: String) throws {
        let managed = try FirewallStateBuilder(session: session).gather().networks.map(\.name)
        guard managed.contains(network) else {
            throw VMCtlError.notFound("vmctl network", network, known: managed)
        }
        try store.update { state in
            guard let index = state.routers.firstIndex(where: { $0.name == name }) else {
                throw VMCtlError.notFound("router", name, known: state.routers.map(\.name))
            }
            guard !state.routers[index].networks.contains(network) else {
                throw VMCtlError("router '\(name)' already joins network '\(network)'")
            }
            state.routers[index].networks.append(network)
        }
        _ = try Firewall(session: session).reconcile()
    }

    public func remove(_ name: String, network: String) throws {
        try store.update { state in
            guard let index = state.routers.firstIndex(where: { $0.name == name }) else {
                throw VMCtlError.notFound("router", name, known: state.routers.map(\.name))
            }
            guard state.routers[index].networks.contains(network) else {
                throw VMCtlError("router '\(name)' does not join network '\(network)'")
            }
            state.routers[index].networks.removeAll { $0 == network }
        }
        _ = try Firewall(session: session).reconcile()
    }
}

/// Routers join networks: guests on joined networks reach each other; without a router they do not.
public struct Routers {
    let session: Session
    let store: ControlStore
    let firewall: Firewall

    public init(session: Session) {
        self.session = session
        self.store = ControlStore(session: session)
        self.firewall = Firewall(session: session)
    }

    public func create(_ name: String, lab: String? = nil) throws -> Router {
        try ResourceName.validate(name, kind: "router")
        return try firewall.commit { change in
            if change.control.routers.contains(where: { $0.name == name }) { throw VMCtlError.alreadyExists("router", name) }
            var router = Router(name: name, networks: [])
            router.lab = lab
            change.control.routers.append(router)
            return router
        }
    }

    public func list() throws -> [Router] { try store.load().routers }

    public func delete(_ name: String) throws {
        try firewall.commit { change in
            guard change.control.routers.contains(where: { $0.name == name }) else {
                throw VMCtlError.notFound("router", name, known: change.control.routers.map(\.name))
            }
            change.control.routers.removeAll { $0.name == name }
        }
    }

    public func add(_ name: String, network: String) throws {
        try firewall.commit { change in
            let managed = change.inputs.networks.map(\.name)
            guard managed.contains(network) else {
                throw VMCtlError.notFound("vmctl network", network, known: managed)
            }
            let state = change.control
            guard let index = state.routers.firstIndex(where: { $0.name == name }) else {
                throw VMCtlError.notFound("router", name, known: state.routers.map(\.name))
            }
            guard !state.routers[index].networks.contains(network) else {
                throw VMCtlError.conflict("router '\(name)' already joins network '\(network)'")
            }
            change.control.routers[index].networks.append(network)
        }
    }

    public func remove(_ name: String, network: String) throws {
        try firewall.commit { change in
            let state = change.control
            guard let index = state.routers.firstIndex(where: { $0.name == name }) else {
                throw VMCtlError.notFound("router", name, known: state.routers.map(\.name))
            }
            guard state.routers[index].networks.contains(network) else {
                throw VMCtlError.conflict("router '\(name)' does not join network '\(network)'")
            }
            change.control.routers[index].networks.removeAll { $0 == network }
        }
    }
}

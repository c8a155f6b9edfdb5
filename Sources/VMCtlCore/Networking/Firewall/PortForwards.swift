import Foundation

/// VirtualBox-style port forwarding to VMs on vmctl's networks, kept in each VM's metadata.
public struct PortForwards {
    let session: Session
    let instances: VMs

    public init(session: Session) {
        self.session = session
        self.instances = VMs(session: session)
    }

    /// Adds a forward. The checks and the change happen under one lock (`Firewall.commit`), so of two
    /// concurrent adds of one host port exactly one lands; the rules are rendered before it is saved.
    public func add(vm: String, rule: ForwardRule) throws -> PortForward {
        try ResourceName.validate(rule.name, kind: "forward")
        return try Firewall(session: session).commit { change in
            _ = try change.metadata(of: vm)
            let state = change.state
            guard let guest = state.guests.first(where: { $0.vm == vm }) else {
                throw VMCtlError.conflict("VM '\(vm)' has no pinned address on a vmctl network; forwards need one (recreate it with this vmctl)")
            }
            if let existing = state.forwards.first(where: { $0.vm == vm && $0.name == rule.name }) {
                throw VMCtlError(.alreadyExists, "VM '\(vm)' already has a forward named '\(existing.name)'")
            }
            if let clash = state.forwards.first(where: {
                ForwardRule(name: $0.name, proto: $0.proto, hostAddress: $0.hostAddress, hostPort: $0.hostPort, guestPort: $0.guestPort)
                    .clashes(with: rule)
            }) {
                throw VMCtlError.conflict("host port \(rule.proto.rawValue)/\(rule.hostPort) is already forwarded to \(clash.vm) (forward '\(clash.name)')")
            }
            if session.isLocal, let listener = try ListeningSockets.holder(of: rule.hostPort, proto: rule.proto, address: rule.hostAddress) {
                throw VMCtlError.conflict("host port \(rule.proto.rawValue)/\(rule.hostPort) is in use by a listening socket on \(listener)")
            }
            try change.updateMetadata(of: vm) { $0.forwards.append(rule) }
            return PortForward(name: rule.name, vm: vm, proto: rule.proto, hostAddress: rule.hostAddress, hostPort: rule.hostPort,
                               guestAddress: guest.address, guestPort: rule.guestPort, network: guest.network)
        }
    }

    public func list(vm: String? = nil) throws -> [PortForward] {
        if let vm { _ = try instances.domain(named: vm) }
        return try FirewallStateBuilder(session: session).gather().forwards.filter { vm == nil || $0.vm == vm }
    }

    public func remove(vm: String, name: String) throws {
        try Firewall(session: session).commit { change in
            let forwards = try change.metadata(of: vm).forwards
            guard forwards.contains(where: { $0.name == name }) else {
                throw VMCtlError.notFound("forward", name, known: forwards.map(\.name))
            }
            try change.updateMetadata(of: vm) { $0.forwards.removeAll { $0.name == name } }
        }
    }
}

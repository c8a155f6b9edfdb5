import Foundation

/// Checks a member's readiness: `ip` (the guest answers), `ssh`, `tcp:PORT`, `http:PORT/PATH`. Probes come from
/// vmctl itself (its management group passes NAT networks' host isolation). Over a remote connection the guest
/// cannot be reached from here: only its address is waited for.
public struct LabReadinessProbe {
    let session: Session

    public init(session: Session) { self.session = session }

    public func wait(_ member: LabVM, timeout: Seconds) throws -> IPv4Address {
        let instances = VMs(session: session)
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout.duration)
        func remaining() -> Seconds { max(0.5, Seconds.until(deadline, on: clock)) }
        var address = try instances.address(of: member.name, wait: remaining())
        for check in member.readiness {
            switch check {
            case .ip:
                continue
            case .ssh:
                address = try instances.address(of: member.name, wait: remaining(), listeningOn: 22)
            case .tcp(let port):
                address = try instances.address(of: member.name, wait: remaining(), listeningOn: port)
            case .http(let port, let path):
                address = try instances.address(of: member.name, wait: remaining(), listeningOn: port)
                guard GuestReachability.isOnLink(address) else { continue }
                let answered = poll(timeout: remaining(), interval: 0.25) { () -> Int? in
                    guard let status = HTTPProbe.status(address, port: port, path: path), (200..<400).contains(status) else { return nil }
                    return status
                }
                if answered == nil {
                    throw VMCtlError(.timedOut, "VM '\(member.name)' did not answer GET http://\(address):\(port)\(path) with 2xx/3xx within \(timeout)")
                }
            }
        }
        return address
    }

    /// One quick check of everything, for status: nil when ready, else what is not.
    public func check(_ member: LabVM, address: IPv4Address) -> String? {
        guard GuestReachability.isOnLink(address) else { return nil }
        for check in member.readiness {
            switch check {
            case .ip:
                if !GuestReachability.answers(address) { return "no answer on \(address)" }
            case .ssh:
                if GuestReachability.probe(address, port: 22) != .accepted { return "ssh not up" }
            case .tcp(let port):
                if GuestReachability.probe(address, port: port) != .accepted { return "nothing on tcp:\(port)" }
            case .http(let port, let path):
                guard let status = HTTPProbe.status(address, port: port, path: path) else { return "no HTTP answer on \(port)" }
                if !(200..<400).contains(status) { return "HTTP \(status) on \(port)\(path)" }
            }
        }
        return nil
    }
}

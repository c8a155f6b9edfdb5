/// Applies the firewall rendered from vmctl's state in libvirt (the one owner of table `ip vmctl`).
public struct Firewall {
    let session: Session

    public init(session: Session) { self.session = session }

    /// Renders the rules from the current state and replaces the live table with them; the report says
    /// what differed before (what was fixed) and what had to be left out (state broken from outside, such
    /// as a pool whose interface is gone, costs only its own rules).
    @discardableResult
    public func reconcile() throws -> FirewallReport {
        guard session.isLocal else {
            // The table lives on the libvirt host; vmctl must run there (a remote firewall agent is future work).
            throw VMCtlError(.unavailable, "the firewall is applied on the libvirt host: run this vmctl command on \(session.uri)'s host")
        }
        // One at a time on this host: two applies interleaving their address changes would trip on each
        // other ("address already assigned"), and the later state must win.
        let lock = try HostLock.acquire("firewall")
        defer { lock.release() }
        let inputs = try FirewallStateBuilder(session: session).read()
        let (state, leftOut) = FirewallStateBuilder.renderableState(of: inputs, interfaceExists: interfaceExists)
        var report = try FirewallApplier.apply(state)
        report.warnings = leftOut.map(\.description)
        report.differences += try TapRepair.reattach(session: session, networks: state.networks)
        return report
    }

    /// Keeps the table in place against others: every `interval` seconds, if the live table is gone or is
    /// not the one last applied (someone flushed or edited it), reconciles and hands the report over.
    /// A lost connection (libvirtd restarted) is opened again at the next tick.
    public static func watch(uri: String, interval: Seconds, report: (FirewallReport) -> Void) -> Never {
        let clock = ContinuousClock()
        var session: Session?
        var lastApplied: String?
        var lastFull = clock.now
        // A daemon that has just (re)started may not list every network and guest yet: for a while after
        // connecting, and now and then anyway, reconcile even when the table looks untouched.
        var settleUntil = clock.now
        while true {
            let live = try? FirewallApplier.liveTable()
            let due = clock.now < settleUntil || clock.now - lastFull > .seconds(15)
            if live == nil || live! != lastApplied || due {
                do {
                    if session?.connection.isAlive != true {
                        session = try Session(uri: uri)
                        settleUntil = clock.now + .seconds(10)
                    }
                    let result = try Firewall(session: session!).reconcile()
                    if !due || result.fixedAnything { report(result) }
                    lastApplied = try? FirewallApplier.liveTable()
                    lastFull = clock.now
                } catch {
                    session = nil
                    report(FirewallReport(rules: 0, elements: 0, tableExisted: live != nil, drifted: true,
                                          differences: ["reconcile failed, retrying: \(error)"], addressesAdded: [],
                                          addressesRemoved: [], sysctlsSet: []))
                }
            }
            interval.sleep()
        }
    }
}

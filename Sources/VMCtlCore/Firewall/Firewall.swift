/// Applies the firewall rendered from vmctl's state in libvirt (the one owner of table `ip vmctl`).
public struct Firewall {
    let session: Session

    public init(session: Session) { self.session = session }

    /// Renders the rules from the current state and replaces the live table with them; the report says
    /// what differed before (what was fixed).
    @discardableResult
    public func reconcile() throws -> FirewallReport {
        guard session.isLocal else {
            // The table lives on the libvirt host; vmctl must run there (a remote firewall agent is future work).
            throw VMCtlError("the firewall is applied on the libvirt host: run this vmctl command on \(session.uri)'s host")
        }
        let state = try FirewallStateBuilder(session: session).gather()
        return try FirewallApplier.apply(state)
    }
}

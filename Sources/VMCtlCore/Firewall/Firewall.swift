/// Applies the firewall rendered from the current state.
public struct Firewall {
    let session: Session

    public init(session: Session) { self.session = session }

    public func reconcile() throws -> [String] {
        throw VMCtlError("the firewall engine is not merged yet")
    }
}

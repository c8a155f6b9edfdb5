import Foundation

/// What apply changes on an existing VM without making it again.
public struct LabVMUpdate: Sendable, Equatable {
    public var resize: ResizeRequest?
    /// The resize needs a power cycle (beyond the ceilings the VM was defined with).
    public var restart = false
    public var addForwards: [ForwardRule] = []
    public var removeForwards: [String] = []
    public var attachGroups: [String] = []
    public var detachGroups: [String] = []
    /// The floating IP to give back (disassociate and release).
    public var releaseFloatingIP: IPv4Address?
    /// The pool to take a floating IP from.
    public var floatingPool: String?
    /// The VM has no address reservation (its create was interrupted before it got one).
    public var reserveAddress = false
    public var start = false
    public var stop = false
}

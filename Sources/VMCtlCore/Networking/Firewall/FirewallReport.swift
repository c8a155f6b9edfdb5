import Foundation

/// What applying the firewall did: the basis of `vmctl net reconcile`'s "what it fixed".
public struct FirewallReport: Codable, Sendable, Equatable {
    /// Rules in table `ip vmctl` after applying.
    public var rules: Int
    /// Elements of its sets and maps after applying (forwards, floating IPs, group members...).
    public var elements: Int
    /// Whether table `ip vmctl` existed before.
    public var tableExisted: Bool
    /// Whether the live table differed from the desired one before applying.
    public var drifted: Bool
    /// What differed, one phrase each ("map pf_tcp: 2 elements missing"); empty when nothing did.
    public var differences: [String]
    public var addressesAdded: [String]
    public var addressesRemoved: [String]
    /// Kernel settings that had another value and were set.
    public var sysctlsSet: [String]
    /// Objects left out of the rules because they cannot be applied, one line each, naming the object.
    public var warnings: [String] = []

    /// Whether anything was out of place and got fixed.
    public var fixedAnything: Bool { drifted || !addressesAdded.isEmpty || !addressesRemoved.isEmpty || !sysctlsSet.isEmpty }

    /// Human-readable lines of what was fixed (empty when everything already matched).
    public var fixes: [String] {
        differences + addressesAdded.map { "added floating address \($0)" }
            + addressesRemoved.map { "removed floating address \($0)" } + sysctlsSet.map { "set \($0)" }
    }
}

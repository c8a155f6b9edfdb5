import Foundation

/// Installs a rendered rule set atomically and keeps the host's side of it (sysctls, floating addresses)
/// in step. Every command runs as an argument vector (no shell). `namespace` runs everything inside
/// `ip netns exec NAME` (tests and benchmarks use their own namespaces); nil means vmctl's current
/// network namespace (the one of libvirtd, which vmctl joins by itself).
public enum FirewallApplier {
    /// Label suffix of the floating addresses vmctl adds (`eth0:vmctl`), when it fits in the kernel's 15
    /// characters. Labels that do not fit are left out: those addresses are still known from the
    /// previous table's `fip_snat` map, which records address and interface of every binding.
    public static let labelSuffix = ":vmctl"

    /// Renders `state`, then applies it (see `apply(script:floating:sysctls:namespace:)`).
    @discardableResult
    public static func apply(_ state: FirewallState, namespace: String? = nil) throws -> FirewallReport {
        let script = try FirewallRenderer.render(state)
        return try apply(script: script, floating: FirewallRenderer.floatingAddresses(state),
                         sysctls: FirewallRenderer.requiredSysctls(state), namespace: namespace)
    }

    /// Replaces table `ip vmctl` with one `nft -f -` transaction (a refused script changes nothing: the
    /// floating interfaces are checked first, and sysctls and addresses follow the rules), sets the
    /// sysctls, adds the floating addresses, removes those vmctl added that are no longer bound, and
    /// compares the table before and after.
    @discardableResult
    public static func apply(script: String, floating: [FloatingAddress], sysctls: [Sysctl],
                             namespace: String? = nil) throws -> FirewallReport {
        let host = FirewallHost(namespace: namespace)
        let before = try host.snapshot()
        var present = try host.addresses()
        let desired = Set(floating)
        for binding in desired.sorted() {
            try InterfaceName.validate(binding.interface, kind: "interface")
            guard present.interfaces.contains(binding.interface) else {
                throw VMCtlError(.notFound, "floating IP \(binding.address): interface '\(binding.interface)' does not exist")
            }
        }

        let result = try host.run(["nft", "-f", "-"], input: script)
        guard result.status == 0 else { throw nftError("nft refused the rule set", result) }

        var sysctlsSet: [String] = []
        for sysctl in sysctls where sysctl.interface.map(present.interfaces.contains) ?? true {
            let current = try host.run(["sysctl", "-n", sysctl.key]).output.trimmingSpaces
            if current != sysctl.value {
                try host.run(["sysctl", "-q", "-w", "\(sysctl.key)=\(sysctl.value)"])
                sysctlsSet.append(sysctl.description)
            }
        }

        var added: [String] = []
        for binding in desired.sorted() where !present.has(binding) {
            var argv = ["ip", "-4", "address", "add", "\(binding.address)/32", "dev", binding.interface]
            let label = binding.interface + labelSuffix
            if label.utf8.count <= InterfaceName.maximumLength { argv += ["label", label] }
            try host.run(argv)
            added.append(binding.description)
        }

        // Stale floating addresses: those the previous table bound, or that carry vmctl's label.
        if !added.isEmpty { present = try host.addresses() }
        var removed: [String] = []
        for stale in present.managed(previous: before?.floatingAddresses ?? []).subtracting(desired).sorted() {
            try host.run(["ip", "-4", "address", "del", "\(stale.address)/32", "dev", stale.interface])
            removed.append(stale.description)
        }

        guard let after = try host.snapshot() else { throw VMCtlError.failed("table ip vmctl is missing right after applying it") }
        let differences = TableSnapshot.differences(from: before, to: after)
        return FirewallReport(rules: after.ruleCount, elements: after.elementCount, tableExisted: before != nil,
                              drifted: !differences.isEmpty, differences: differences,
                              addressesAdded: added, addressesRemoved: removed, sysctlsSet: sysctlsSet)
    }

    /// Syntax and semantic check by the kernel's own parser, without applying (`nft -c -f -`).
    public static func check(_ script: String, namespace: String? = nil) throws {
        let result = try FirewallHost(namespace: namespace).run(["nft", "-c", "-f", "-"], input: script)
        guard result.status == 0 else { throw nftError("nft refused the rule set", result) }
    }

    /// The live tables as `nft list` prints them, or nil when table `ip vmctl` does not exist.
    public static func liveTable(namespace: String? = nil) throws -> String? {
        let host = FirewallHost(namespace: namespace)
        let result = try host.run(["nft", "list", "table", FirewallRenderer.family, FirewallRenderer.tableName])
        guard result.status == 0 else { return nil }
        // A missing bridge table lists as nothing, which differs from what was applied: the watcher repairs it.
        let bridge = try host.run(["nft", "list", "table", FirewallRenderer.bridgeFamily, FirewallRenderer.tableName])
        return result.output + (bridge.status == 0 ? bridge.output : "")
    }

    /// Removes tables `ip vmctl` and `bridge vmctl` and the floating addresses it bound (or that carry vmctl's label).
    /// Sysctls stay as they are: other software may rely on forwarding.
    public static func remove(namespace: String? = nil) throws {
        let host = FirewallHost(namespace: namespace)
        let before = try host.snapshot()
        let managed = try host.addresses().managed(previous: before?.floatingAddresses ?? [])
        for family in [FirewallRenderer.family, FirewallRenderer.bridgeFamily] where before?.tables.contains(family) == true {
            let result = try host.run(["nft", "delete", "table", family, FirewallRenderer.tableName])
            guard result.status == 0 else { throw nftError("nft could not delete table \(family) vmctl", result) }
        }
        for stale in managed.sorted() {
            try host.run(["ip", "-4", "address", "del", "\(stale.address)/32", "dev", stale.interface])
        }
    }

    private static func nftError(_ what: String, _ result: ProcessRunner.Result) -> VMCtlError {
        let lines = result.errorOutput.split(whereSeparator: \.isNewline).map(String.init)
        let detail = lines.first { $0.contains("Error:") } ?? lines.first ?? "exit status \(result.status)"
        return VMCtlError.failed("\(what): \(detail.trimmingSpaces)")
    }
}

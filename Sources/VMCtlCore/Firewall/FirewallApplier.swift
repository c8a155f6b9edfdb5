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
                throw VMCtlError("floating IP \(binding.address): interface '\(binding.interface)' does not exist")
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

        guard let after = try host.snapshot() else { throw VMCtlError("table ip vmctl is missing right after applying it") }
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
        return VMCtlError("\(what): \(detail.trimmingSpaces)")
    }
}

// MARK: - Commands

/// Runs commands in the current namespace or in a named one, with optional standard input.
struct FirewallHost {
    let namespace: String?

    struct InterfaceAddress: Equatable {
        var interface: String
        var address: IPv4Address
        var prefix: Int
        var label: String
    }

    /// The host's interfaces and their IPv4 addresses.
    struct Addresses {
        var interfaces: Set<String> = []
        var entries: [InterfaceAddress] = []

        func has(_ binding: FloatingAddress) -> Bool {
            entries.contains { $0.interface == binding.interface && $0.address == binding.address }
        }

        /// The /32 addresses present that vmctl put there: bound by the previous table, or labelled.
        func managed(previous: [FloatingAddress]) -> Set<FloatingAddress> {
            let previous = Set(previous)
            return Set(entries.filter { entry in
                entry.prefix == 32 && (entry.label == entry.interface + FirewallApplier.labelSuffix
                    || previous.contains(FloatingAddress(address: entry.address, interface: entry.interface)))
            }.map { FloatingAddress(address: $0.address, interface: $0.interface) })
        }
    }

    /// Runs argv; throws only when the tool cannot run, or (unless `input` is given or the tool is
    /// `nft`, whose status the caller reads) when it fails.
    @discardableResult
    func run(_ argv: [String], input: String? = nil) throws -> ProcessRunner.Result {
        let full = (namespace.map { ["ip", "netns", "exec", $0] } ?? []) + argv
        let result = try ProcessRunner.capture(full[0], Array(full.dropFirst()), input: input)
        if result.status != 0, input == nil, argv.first != "nft" {
            let detail = result.errorOutput.split(whereSeparator: \.isNewline).last.map(String.init) ?? "exit status \(result.status)"
            throw VMCtlError("\(argv.prefix(3).joined(separator: " ")) failed: \(detail)")
        }
        return result
    }

    /// Every interface and its IPv4 addresses (`ip -j address show`).
    func addresses() throws -> Addresses {
        let output = try run(["ip", "-j", "address", "show"]).output
        guard let links = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] else { return Addresses() }
        var result = Addresses()
        for link in links {
            guard let name = link["ifname"] as? String else { continue }
            result.interfaces.insert(name)
            for info in link["addr_info"] as? [[String: Any]] ?? [] where info["family"] as? String == "inet" {
                guard let local = (info["local"] as? String).flatMap(IPv4Address.init), let prefix = info["prefixlen"] as? Int else { continue }
                result.entries.append(InterfaceAddress(interface: name, address: local, prefix: prefix, label: info["label"] as? String ?? name))
            }
        }
        return result
    }

    /// The live tables, normalised, or nil when table `ip vmctl` does not exist.
    func snapshot() throws -> TableSnapshot? {
        guard var snapshot = try snapshot(family: FirewallRenderer.family) else { return nil }
        if let bridge = try self.snapshot(family: FirewallRenderer.bridgeFamily) { snapshot.merge(bridge) }
        return snapshot
    }

    private func snapshot(family: String) throws -> TableSnapshot? {
        let result = try run(["nft", "-j", "list", "table", family, FirewallRenderer.tableName])
        guard result.status == 0 else {
            if result.errorOutput.contains("No such file or directory") { return nil }
            throw VMCtlError("nft could not list table \(family) vmctl: \(result.errorOutput.trimmingSpaces)")
        }
        return try TableSnapshot(json: result.output, family: family)
    }
}

// MARK: - Comparing tables

/// `nft -j list table` reduced to what matters: chains with their ordered rules, sets and maps with
/// their elements as sets; handles (which change with every load) left out.
struct TableSnapshot: Equatable {
    /// "chain forward", "set bridges", "map pf_tcp" → canonical JSON of the definition (without elements).
    var objects: [String: String] = [:]
    /// "chain forward" → canonical JSON of each rule, in order.
    var rules: [String: [String]] = [:]
    /// "set NAME" / "map NAME" → canonical JSON of each element.
    var elements: [String: Set<String>] = [:]
    var floatingAddresses: [FloatingAddress] = []
    /// Families of the tables listed (`ip`, `bridge`).
    var tables: Set<String> = []

    var ruleCount: Int { rules.values.reduce(0) { $0 + $1.count } }
    var elementCount: Int { elements.values.reduce(0) { $0 + $1.count } }

    /// Objects of table `bridge vmctl` are named "bridge chain prerouting", ...; those of `ip vmctl` keep
    /// their plain names.
    init(json: String, family: String = FirewallRenderer.family) throws {
        tables = [family]
        let prefix = family == FirewallRenderer.family ? "" : family + " "
        guard let root = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let items = root["nftables"] as? [[String: Any]] else {
            throw VMCtlError("nft printed a listing vmctl cannot read")
        }
        for item in items {
            for (kind, value) in item where kind != "metainfo" {
                guard var body = value as? [String: Any] else { continue }
                body["handle"] = nil
                let name = body["name"] as? String ?? ""
                let key = "\(prefix)\(kind) \(name)"
                switch kind {
                case "rule":
                    rules["\(prefix)chain \(body["chain"] as? String ?? "")", default: []].append(Self.canonical(body))
                case "set", "map":
                    let members = body["elem"] as? [Any] ?? []
                    body["elem"] = nil
                    objects[key] = Self.canonical(body)
                    elements[key] = Set(members.map(Self.canonical))
                    if kind == "map", name == "fip_snat", prefix.isEmpty { floatingAddresses = Self.floating(members) }
                case "chain":
                    objects[key] = Self.canonical(body)
                    rules[key] = rules[key] ?? []
                default:
                    objects[key] = Self.canonical(body)
                }
            }
        }
    }

    mutating func merge(_ other: TableSnapshot) {
        objects.merge(other.objects) { $1 }
        rules.merge(other.rules) { $1 }
        elements.merge(other.elements) { $1 }
        tables.formUnion(other.tables)
    }

    /// `fip_snat` elements: [{"concat": [guest, ifname]}, address] (keys may carry comments).
    private static func floating(_ members: [Any]) -> [FloatingAddress] {
        members.compactMap { member in
            guard let pair = member as? [Any], pair.count == 2,
                  let key = unwrap(pair[0]) as? [String: Any], let concat = key["concat"] as? [Any], concat.count == 2,
                  let interface = concat[1] as? String, (try? InterfaceName.validate(interface, kind: "interface")) != nil,
                  let address = (unwrap(pair[1]) as? String).flatMap(IPv4Address.init) else { return nil }
            return FloatingAddress(address: address, interface: interface)
        }
    }

    private static func unwrap(_ value: Any) -> Any {
        if let object = value as? [String: Any], let elem = object["elem"] as? [String: Any], let inner = elem["val"] { return inner }
        return value
    }

    /// A stable text for a JSON value: object keys sorted, strings quoted (with quotes and backslashes
    /// escaped), numbers and literals as they print.
    static func canonical(_ value: Any) -> String {
        switch value {
        case let object as [String: Any]:
            return "{" + object.keys.sorted().map { "\(canonical($0)):\(canonical(object[$0]!))" }.joined(separator: ",") + "}"
        case let array as [Any]:
            return "[" + array.map(canonical).joined(separator: ",") + "]"
        case let string as String:
            return "\"" + string.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case is NSNull:
            return "null"
        default:
            return "\(value)"
        }
    }

    /// What a live table (`before`, nil when absent) lacked or had extra compared with the desired one.
    static func differences(from before: TableSnapshot?, to after: TableSnapshot) -> [String] {
        guard let before else { return ["table ip vmctl was missing"] }
        let missingTables = after.tables.subtracting(before.tables)
        var result = missingTables.sorted().map { "table \($0) vmctl was missing" }
        // The objects of a missing table are that table's news, not one line each.
        let ofMissingTable = { (key: String) in key.split(separator: " ").first.map { missingTables.contains(String($0)) } ?? false }
        for key in Set(before.objects.keys).union(after.objects.keys).sorted() where !ofMissingTable(key) {
            switch (before.objects[key], after.objects[key]) {
            case (nil, _): result.append("\(key) was missing")
            case (_, nil): result.append("\(key) was extra")
            case let (old?, new?) where old != new: result.append("\(key) had another definition")
            default:
                if let old = before.elements[key], let new = after.elements[key], old != new {
                    var parts: [String] = []
                    let missing = new.subtracting(old).count, extra = old.subtracting(new).count
                    if missing > 0 { parts.append("\(missing) element\(missing == 1 ? "" : "s") missing") }
                    if extra > 0 { parts.append("\(extra) element\(extra == 1 ? "" : "s") extra") }
                    result.append("\(key): \(parts.joined(separator: ", "))")
                }
            }
        }
        for chain in Set(before.rules.keys).intersection(after.rules.keys).sorted() {
            let old = before.rules[chain]!, new = after.rules[chain]!
            if old != new, before.objects[chain] != nil {
                result.append("\(chain): rules differed (\(old.count) live, \(new.count) desired)")
            }
        }
        return result
    }
}

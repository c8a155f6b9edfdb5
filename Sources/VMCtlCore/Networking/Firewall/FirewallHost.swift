import Foundation

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
            throw VMCtlError.failed("\(argv.prefix(3).joined(separator: " ")) failed: \(detail)")
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
            throw VMCtlError.failed("nft could not list table \(family) vmctl: \(result.errorOutput.trimmingSpaces)")
        }
        return try TableSnapshot(json: result.output, family: family)
    }
}

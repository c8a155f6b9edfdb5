import Foundation

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
            throw VMCtlError.failed("nft printed a listing vmctl cannot read")
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

import Foundation
import Yams

/// A YAML node with its place: typed accessors that fail with the file, line and key path, and mappings
/// that reject unknown and duplicate keys.
struct LabNode {
    let node: Node
    let file: String
    let path: String

    var line: Int { node.mark?.line ?? 1 }
    var origin: LabOrigin { LabOrigin(file: file, line: line, path: path) }

    func error(_ message: String, code: VMCtlError.Code = .invalid) -> VMCtlError { origin.error(message, code: code) }

    func child(_ node: Node, key: String) -> LabNode {
        LabNode(node: node, file: file, path: path.isEmpty ? key : "\(path).\(key)")
    }

    func element(_ node: Node, index: Int) -> LabNode {
        LabNode(node: node, file: file, path: "\(path)[\(index)]")
    }

    /// What a node is, for type errors: `a list`, `the integer 5`, `the text 'abc'`.
    var kindDescription: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let scalar):
            switch node.tagName {
            case .null: return "nothing (null)"
            case .int: return "the integer \(scalar.string)"
            case .bool: return "the boolean \(scalar.string)"
            case .float: return "the number \(scalar.string)"
            default: return "the text '\(ResourceName.printable(String(scalar.string.prefix(40))))'"
            }
        }
    }

    func mapping(allowed: [String]) throws -> LabMapping {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping, got \(kindDescription)") }
        var entries: [(key: String, keyLine: Int, value: LabNode)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode, keyNode.tagName == .str else {
                throw LabNode(node: keyNode, file: file, path: path).error("keys must be plain text")
            }
            let key = scalar.string
            let keyLine = keyNode.mark?.line ?? line
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            if let first = entries.first(where: { $0.key == key }) {
                throw LabOrigin(file: file, line: keyLine, path: keyPath).error("duplicate key (first on line \(first.keyLine))")
            }
            guard allowed.contains(key) else {
                throw LabOrigin(file: file, line: keyLine, path: keyPath)
                    .error("unknown key (expected one of: \(allowed.joined(separator: ", ")))")
            }
            entries.append((key, keyLine, child(value, key: key)))
        }
        return LabMapping(owner: self, entries: entries)
    }

    func sequence() throws -> [LabNode] {
        guard case .sequence(let sequence) = node else { throw error("expected a list, got \(kindDescription)") }
        return sequence.enumerated().map { element($1, index: $0) }
    }

    /// A list, or one item standing for a list of one.
    func sequenceOrSingle() throws -> [LabNode] {
        if case .sequence = node { return try sequence() }
        return [self]
    }

    func string() throws -> String {
        guard case .scalar(let scalar) = node, node.tagName == .str else {
            throw error("expected text, got \(kindDescription)")
        }
        return scalar.string
    }

    /// The scalar as written, whatever YAML would resolve it to (`0755`, `80`).
    func rawScalar() throws -> String {
        guard case .scalar(let scalar) = node, node.tagName != .null else {
            throw error("expected a value, got \(kindDescription)")
        }
        return scalar.string
    }

    func int() throws -> Int {
        guard node.tagName == .int, let value = node.int else { throw error("expected an integer, got \(kindDescription)") }
        return value
    }

    func bool() throws -> Bool {
        guard node.tagName == .bool, let value = node.bool else { throw error("expected true or false, got \(kindDescription)") }
        return value
    }

    func name(kind: String) throws -> String {
        let text = try string()
        do {
            try ResourceName.validate(text, kind: kind)
        } catch let failure as VMCtlError {
            throw error(failure.description, code: failure.code)
        }
        return text
    }

    /// Runs a parse step; a plain VMCtlError it throws is placed at this node.
    func checked<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let failure as VMCtlError where !failure.description.hasPrefix(file + ":") {
            throw error(failure.description, code: failure.code)
        }
    }
}

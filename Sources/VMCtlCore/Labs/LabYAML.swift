import Foundation
import Yams

/// Parses YAML text into documents, turning Yams' errors into `FILE:LINE: message`.
enum LabYAML {
    static func documents(text: String, file: String) throws -> [LabNode] {
        do {
            var result: [LabNode] = []
            var sequence = try Yams.compose_all(yaml: text)
            while let node = sequence.next() { result.append(LabNode(node: node, file: file, path: "")) }
            if let error = sequence.error { throw error }
            return result
        } catch let error as YamlError {
            throw describe(error, file: file)
        }
    }

    static func describe(_ error: YamlError, file: String) -> VMCtlError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let prefix = context.map { "\($0.text) " } ?? ""
            return VMCtlError.invalid("\(file):\(mark.line): invalid YAML: \(prefix)\(problem)")
        case let .reader(problem, _, _, _):
            return VMCtlError.invalid("\(file): invalid YAML: \(problem)")
        default:
            return VMCtlError.invalid("\(file): invalid YAML: \(error)")
        }
    }
}

extension Node {
    /// The resolved tag (`tag:yaml.org,2002:int`, …): what the plain scalar means.
    var tagName: Tag.Name { Tag.Name(rawValue: tag.description) }
}

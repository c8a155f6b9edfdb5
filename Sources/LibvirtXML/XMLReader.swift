import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

public struct XMLReadError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Parses XML text into an element tree. Namespace prefixes are kept as written (`vmctl:instance`),
/// and whitespace-only text between elements is dropped.
public enum XMLReader {
    public static func parse(_ text: String) throws -> XML.Element {
        let parser = XMLParser(data: Data(text.utf8))
        let builder = TreeBuilder()
        parser.delegate = builder
        parser.shouldProcessNamespaces = false
        parser.shouldReportNamespacePrefixes = false
        guard parser.parse(), let root = builder.root else {
            let reason = parser.parserError.map { "\($0.localizedDescription)" } ?? "no root element"
            throw XMLReadError(description: "invalid XML at line \(parser.lineNumber): \(reason)")
        }
        return root
    }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XML.Element] = []
    var root: XML.Element?

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        // Foundation hands attributes over as a dictionary; sort for a stable order.
        let sorted = attributes.sorted { $0.key < $1.key }.map { ($0.key, Optional($0.value)) }
        stack.append(XML.Element(name, attributes: sorted))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        if case .text(let previous)? = stack[stack.count - 1].children.last {
            stack[stack.count - 1].children[stack[stack.count - 1].children.count - 1] = .text(previous + string)
        } else {
            stack[stack.count - 1].children.append(.text(string))
        }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        var element = stack.removeLast()
        if element.children.contains(where: { if case .element = $0 { true } else { false } }) {
            element.children.removeAll {
                if case .text(let t) = $0 { t.allSatisfy(\.isWhitespace) } else { false }
            }
        }
        if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(.element(element)) }
    }
}

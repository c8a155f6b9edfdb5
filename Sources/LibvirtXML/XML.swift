/// Namespace for vmctl's XML value tree.
public enum XML {
    /// A node of an XML document: an element or a run of text.
    public enum Node: Sendable, Equatable {
        case element(Element)
        case text(String)
    }
}

extension XML {
    /// An XML element with ordered attributes and children.
    ///
    /// Libvirt documents are small, so a value tree is simpler and safer than building strings:
    /// every document vmctl writes goes through `XMLWriter`, the one place that escapes.
    public struct Element: Sendable, Equatable {
        public var name: String
        public var attributes: [(name: String, value: String)]
        public var children: [XML.Node]

        public init(_ name: String, attributes: [(String, String?)] = [], children: [XML.Node] = []) {
            self.name = name
            self.attributes = attributes.compactMap { pair in pair.1.map { (name: pair.0, value: $0) } }
            self.children = children
        }

        /// An element holding only text, e.g. `<name>web</name>`.
        public init(_ name: String, attributes: [(String, String?)] = [], text: String) {
            self.init(name, attributes: attributes, children: [.text(text)])
        }

        public static func == (lhs: XML.Element, rhs: XML.Element) -> Bool {
            lhs.name == rhs.name
                && lhs.attributes.map(\.name) == rhs.attributes.map(\.name)
                && lhs.attributes.map(\.value) == rhs.attributes.map(\.value)
                && lhs.children == rhs.children
        }

        public subscript(attribute name: String) -> String? {
            get { attributes.first { $0.name == name }?.value }
            set {
                attributes.removeAll { $0.name == name }
                if let newValue { attributes.append((name, newValue)) }
            }
        }

        public var elements: [XML.Element] {
            children.compactMap { if case .element(let e) = $0 { e } else { nil } }
        }

        public func first(_ name: String) -> XML.Element? { elements.first { $0.name == name } }
        public func all(_ name: String) -> [XML.Element] { elements.filter { $0.name == name } }

        /// Follows a path of child element names, e.g. `first(path: "os", "type")`.
        public func first(path names: String...) -> XML.Element? {
            names.reduce(Optional(self)) { $0?.first($1) }
        }

        /// The concatenated text directly inside this element.
        public var text: String {
            children.reduce(into: "") { if case .text(let t) = $1 { $0 += t } }
        }

        public mutating func append(_ element: XML.Element) { children.append(.element(element)) }
        public mutating func append(contentsOf elements: [XML.Element]) { children += elements.map(XML.Node.element) }

        public mutating func removeAll(_ name: String) {
            children.removeAll { if case .element(let e) = $0 { e.name == name } else { false } }
        }
    }
}

extension XML.Element {
    /// Whether this element declares `uri` as a namespace (`xmlns` or `xmlns:prefix`).
    public func declares(namespaceURI uri: String) -> Bool {
        attributes.contains { $0.name.hasPrefix("xmlns") && $0.value == uri }
    }

    /// The element's own prefix with its colon (`vmctl:` for `vmctl:instance`), or "" when it has none;
    /// libvirt may store metadata under another prefix than the one it was given.
    public var prefix: String {
        name.split(separator: ":").dropLast().first.map { "\($0):" } ?? ""
    }
}

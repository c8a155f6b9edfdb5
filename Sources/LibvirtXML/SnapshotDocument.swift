/// A domain snapshot's description as vmctl asks libvirt to make it, and as libvirt reports it.
public struct SnapshotDocument: Sendable, Equatable {
    public enum MemoryMode: String, Sendable { case no, `internal`, external }

    public var name: String
    public var description: String?
    /// How the guest's RAM is kept (nil: libvirt's default for the domain's state).
    public var memory: MemoryMode?
    /// The domain state when the snapshot was taken (only in libvirt's output).
    public var state: String?
    public var parent: String?
    public var creationTime: Int64?

    public init(name: String, description: String? = nil, memory: MemoryMode? = nil,
                state: String? = nil, parent: String? = nil, creationTime: Int64? = nil) {
        self.name = name
        self.description = description
        self.memory = memory
        self.state = state
        self.parent = parent
        self.creationTime = creationTime
    }

    public var element: XML.Element {
        var snapshot = XML.Element("domainsnapshot", children: [.element(XML.Element("name", text: name))])
        if let description { snapshot.append(XML.Element("description", text: description)) }
        if let memory { snapshot.append(XML.Element("memory", attributes: [("snapshot", memory.rawValue)])) }
        return snapshot
    }

    public var xml: String { XMLWriter.render(element) }

    public init(xml: String) throws {
        let root = try XMLReader.parse(xml)
        guard root.name == "domainsnapshot" else { throw DocumentError("expected <domainsnapshot>, found <\(root.name)>") }
        self.init(
            name: try root.requiredText("name", in: "snapshot"),
            description: root.optionalText("description"),
            memory: root.first("memory").flatMap { MemoryMode(rawValue: $0[attribute: "snapshot"] ?? "") },
            state: root.optionalText("state")?.trimmed,
            parent: root.first(path: "parent", "name")?.text.trimmed,
            creationTime: root.optionalText("creationTime").flatMap { Int64($0.trimmed) })
    }
}

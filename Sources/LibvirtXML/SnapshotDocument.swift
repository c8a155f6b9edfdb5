/// A domain snapshot's description as vmctl asks libvirt to make it, and as libvirt reports it.
public struct SnapshotDocument: Sendable, Equatable {
    public enum MemoryMode: String, Sendable { case no, `internal`, external }

    /// What a snapshot does with one of the domain's disks (`<disks><disk name='vda' snapshot='…'>`).
    public struct Disk: Sendable, Equatable {
        public enum Mode: String, Sendable { case no, `internal`, external, manual }

        /// The disk's target name in the domain, e.g. `vda`.
        public var name: String
        /// nil: libvirt's default for the disk.
        public var snapshot: Mode?
        /// External snapshots: the new overlay file the disk continues in.
        public var sourceFile: String?
        /// External snapshots: the overlay's format (qcow2).
        public var format: String?

        public init(name: String, snapshot: Mode?, sourceFile: String? = nil, format: String? = nil) {
            self.name = name
            self.snapshot = snapshot
            self.sourceFile = sourceFile
            self.format = format
        }
    }

    public var name: String
    public var description: String?
    /// How the guest's RAM is kept (nil: libvirt's default for the domain's state).
    public var memory: MemoryMode?
    /// Per-disk choices; empty leaves every disk to libvirt's defaults.
    public var disks: [Disk]
    /// The domain state when the snapshot was taken (only in libvirt's output).
    public var state: String?
    public var parent: String?
    public var creationTime: Int64?

    public init(name: String, description: String? = nil, memory: MemoryMode? = nil, disks: [Disk] = [],
                state: String? = nil, parent: String? = nil, creationTime: Int64? = nil) {
        self.name = name
        self.description = description
        self.memory = memory
        self.disks = disks
        self.state = state
        self.parent = parent
        self.creationTime = creationTime
    }

    public var element: XML.Element {
        var snapshot = XML.Element("domainsnapshot", children: [.element(XML.Element("name", text: name))])
        if let description { snapshot.append(XML.Element("description", text: description)) }
        if let memory { snapshot.append(XML.Element("memory", attributes: [("snapshot", memory.rawValue)])) }
        if !disks.isEmpty {
            snapshot.append(XML.Element("disks", children: disks.map { .element(Self.element(for: $0)) }))
        }
        return snapshot
    }

    private static func element(for disk: Disk) -> XML.Element {
        var element = XML.Element("disk", attributes: [
            ("name", disk.name), ("snapshot", disk.snapshot?.rawValue), ("type", disk.sourceFile == nil ? nil : "file"),
        ])
        if let format = disk.format { element.append(XML.Element("driver", attributes: [("type", format)])) }
        if let file = disk.sourceFile { element.append(XML.Element("source", attributes: [("file", file)])) }
        return element
    }

    public var xml: String { XMLWriter.render(element) }

    public init(xml: String) throws {
        let root = try XMLReader.parse(xml)
        guard root.name == "domainsnapshot" else { throw DocumentError("expected <domainsnapshot>, found <\(root.name)>") }
        self.init(
            name: try root.requiredText("name", in: "snapshot"),
            description: root.optionalText("description"),
            memory: root.first("memory").flatMap { MemoryMode(rawValue: $0[attribute: "snapshot"] ?? "") },
            disks: (root.first("disks")?.all("disk") ?? []).map { disk in
                Disk(name: disk[attribute: "name"] ?? "",
                     snapshot: disk[attribute: "snapshot"].flatMap(Disk.Mode.init(rawValue:)),
                     sourceFile: disk.first("source")?[attribute: "file"],
                     format: disk.first("driver")?[attribute: "type"])
            },
            state: root.optionalText("state")?.trimmed,
            parent: root.first(path: "parent", "name")?.text.trimmed,
            creationTime: root.optionalText("creationTime").flatMap { Int64($0.trimmed) })
    }
}

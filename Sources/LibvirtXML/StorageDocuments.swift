/// A directory-backed storage pool.
public struct StoragePoolDocument: Sendable, Equatable {
    public var name: String
    public var type: String
    public var targetPath: String

    public init(name: String, type: String = "dir", targetPath: String) {
        self.name = name
        self.type = type
        self.targetPath = targetPath
    }

    public var element: XML.Element {
        XML.Element("pool", attributes: [("type", type)], children: [
            .element(XML.Element("name", text: name)),
            .element(XML.Element("target", children: [
                .element(XML.Element("path", text: targetPath)),
                .element(XML.Element("permissions", children: [.element(XML.Element("mode", text: "0711"))])),
            ])),
        ])
    }

    public var xml: String { XMLWriter.render(element) }

    public init(xml: String) throws {
        let root = try XMLReader.parse(xml)
        guard root.name == "pool" else { throw DocumentError("expected <pool>, found <\(root.name)>") }
        guard let path = root.first(path: "target", "path")?.text.trimmed else { throw DocumentError("pool XML has no target path") }
        self.init(name: try root.requiredText("name", in: "pool"), type: root[attribute: "type"] ?? "dir", targetPath: path)
    }
}

/// A storage volume: a disk image file, optionally a copy-on-write overlay on a backing image.
public struct VolumeDocument: Sendable, Equatable {
    public struct Backing: Sendable, Equatable {
        public var path: String
        public var format: String
        public init(path: String, format: String) {
            self.path = path
            self.format = format
        }
    }

    public var name: String
    public var capacityBytes: UInt64
    /// Bytes to preallocate; 0 keeps the file sparse.
    public var allocationBytes: UInt64
    public var format: String
    public var path: String?
    public var backing: Backing?

    public init(
        name: String, capacityBytes: UInt64, allocationBytes: UInt64 = 0, format: String,
        path: String? = nil, backing: Backing? = nil
    ) {
        self.name = name
        self.capacityBytes = capacityBytes
        self.allocationBytes = allocationBytes
        self.format = format
        self.path = path
        self.backing = backing
    }

    public var element: XML.Element {
        var volume = XML.Element("volume", children: [
            .element(XML.Element("name", text: name)),
            .element(XML.Element("capacity", attributes: [("unit", "bytes")], text: String(capacityBytes))),
            .element(XML.Element("allocation", attributes: [("unit", "bytes")], text: String(allocationBytes))),
            .element(XML.Element("target", children: [
                .element(XML.Element("format", attributes: [("type", format)])),
            ])),
        ])
        if let backing {
            volume.append(XML.Element("backingStore", children: [
                .element(XML.Element("path", text: backing.path)),
                .element(XML.Element("format", attributes: [("type", backing.format)])),
            ]))
        }
        return volume
    }

    public var xml: String { XMLWriter.render(element) }

    public init(xml: String) throws {
        let root = try XMLReader.parse(xml)
        guard root.name == "volume" else { throw DocumentError("expected <volume>, found <\(root.name)>") }
        let backing = root.first("backingStore").flatMap { store -> Backing? in
            guard let path = store.first("path")?.text.trimmed else { return nil }
            return Backing(path: path, format: store.first("format")?[attribute: "type"] ?? "raw")
        }
        self.init(
            name: try root.requiredText("name", in: "volume"),
            capacityBytes: ScaledInteger.bytes(root.first("capacity")) ?? 0,
            allocationBytes: ScaledInteger.bytes(root.first("allocation")) ?? 0,
            format: root.first(path: "target", "format")?[attribute: "type"] ?? "raw",
            path: root.first(path: "target", "path")?.text.trimmed,
            backing: backing)
    }
}

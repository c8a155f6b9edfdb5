import LibvirtXML

/// What vmctl records about a VM inside the domain's own XML (`<metadata>`), so that libvirt is the
/// only store of state and `virsh dumpxml` shows it.
public struct InstanceMetadata: Sendable, Equatable {
    public static let version = 1

    public var image: String
    public var flavor: String?
    public var instanceID: String
    public var hostname: String
    public var accelerator: String
    public var created: String
    /// Volumes vmctl made for this VM, by role ("root", "seed").
    public var volumes: [String: String]

    public init(image: String, flavor: String?, instanceID: String, hostname: String,
                accelerator: String, created: String, volumes: [String: String]) {
        self.image = image
        self.flavor = flavor
        self.instanceID = instanceID
        self.hostname = hostname
        self.accelerator = accelerator
        self.created = created
        self.volumes = volumes
    }

    private static let prefix = VMCtlNames.metadataPrefix

    public var element: XML.Element {
        var root = XML.Element("\(Self.prefix):instance", attributes: [
            ("xmlns:\(Self.prefix)", VMCtlNames.metadataNamespace), ("version", String(Self.version)),
        ])
        root.append(XML.Element("\(Self.prefix):image", text: image))
        if let flavor { root.append(XML.Element("\(Self.prefix):flavor", text: flavor)) }
        root.append(XML.Element("\(Self.prefix):instance-id", text: instanceID))
        root.append(XML.Element("\(Self.prefix):hostname", text: hostname))
        root.append(XML.Element("\(Self.prefix):accelerator", text: accelerator))
        root.append(XML.Element("\(Self.prefix):created", text: created))
        for (role, volume) in volumes.sorted(by: { $0.key < $1.key }) {
            root.append(XML.Element("\(Self.prefix):volume", attributes: [("role", role)], text: volume))
        }
        return root
    }

    /// Reads the element back whatever prefix libvirt used when it stored it.
    public init?(element: XML.Element) {
        let prefix = element.name.split(separator: ":").dropLast().first.map { "\($0):" } ?? ""
        func text(_ name: String) -> String? { element.first(prefix + name)?.text }
        guard let image = text("image"), let instanceID = text("instance-id") else { return nil }
        var volumes: [String: String] = [:]
        for volume in element.all(prefix + "volume") {
            if let role = volume[attribute: "role"] { volumes[role] = volume.text }
        }
        self.init(
            image: image, flavor: text("flavor"), instanceID: instanceID, hostname: text("hostname") ?? "",
            accelerator: text("accelerator") ?? "", created: text("created") ?? "", volumes: volumes)
    }

    public init?(domain: DomainDocument) {
        guard let element = domain.metadata(namespaceURI: VMCtlNames.metadataNamespace) else { return nil }
        self.init(element: element)
    }
}

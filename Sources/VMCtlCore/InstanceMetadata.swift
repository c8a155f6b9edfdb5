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
    /// The user's public keys from the seed, so that clones and imports authorize the same keys.
    public var sshKeys: [String]

    public init(image: String, flavor: String?, instanceID: String, hostname: String,
                accelerator: String, created: String, volumes: [String: String], sshKeys: [String] = []) {
        self.image = image
        self.flavor = flavor
        self.instanceID = instanceID
        self.hostname = hostname
        self.accelerator = accelerator
        self.created = created
        self.volumes = volumes
        self.sshKeys = sshKeys
    }

    private static let prefix = VMCtlNames.metadataPrefix

    /// The element as it sits in a domain definition: prefixed names under vmctl's namespace.
    public var element: XML.Element { element(prefix: "\(Self.prefix):") }

    /// The element for virDomainSetMetadata, which adds the namespace and prefix itself.
    var bareElement: XML.Element { element(prefix: "") }

    private func element(prefix: String) -> XML.Element {
        var root = XML.Element("\(prefix)instance", attributes: [
            ("xmlns:\(Self.prefix)", prefix.isEmpty ? nil : VMCtlNames.metadataNamespace), ("version", String(Self.version)),
        ])
        root.append(XML.Element("\(prefix)image", text: image))
        if let flavor { root.append(XML.Element("\(prefix)flavor", text: flavor)) }
        root.append(XML.Element("\(prefix)instance-id", text: instanceID))
        root.append(XML.Element("\(prefix)hostname", text: hostname))
        root.append(XML.Element("\(prefix)accelerator", text: accelerator))
        root.append(XML.Element("\(prefix)created", text: created))
        for (role, volume) in volumes.sorted(by: { $0.key < $1.key }) {
            root.append(XML.Element("\(prefix)volume", attributes: [("role", role)], text: volume))
        }
        for key in sshKeys { root.append(XML.Element("\(prefix)ssh-key", text: key)) }
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
            accelerator: text("accelerator") ?? "", created: text("created") ?? "", volumes: volumes,
            sshKeys: element.all(prefix + "ssh-key").map(\.text))
    }

    public init?(domain: DomainDocument) {
        guard let element = domain.metadata(namespaceURI: VMCtlNames.metadataNamespace) else { return nil }
        self.init(element: element)
    }
}

import LibvirtXML

/// What vmctl records about a VM inside the domain's own XML (`<metadata>`), so that libvirt is the
/// only store of state and `virsh dumpxml` shows it.
public struct VMMetadata: Sendable, Equatable {
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
    /// VirtualBox-style port forwards to this VM.
    public var forwards: [ForwardRule] = []
    /// Security groups the VM is in (none: the `default` group).
    public var securityGroups: [String] = []
    /// The lab (lab files) that created the VM and owns it; nil for VMs made by hand.
    public var lab: LabOwnership?

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
        for forward in forwards {
            root.append(XML.Element("\(prefix)forward", attributes: [
                ("name", forward.name), ("proto", forward.proto.rawValue), ("host-ip", forward.hostAddress?.description),
                ("host-port", String(forward.hostPort)), ("guest-port", String(forward.guestPort)),
            ]))
        }
        for group in securityGroups { root.append(XML.Element("\(prefix)security-group", text: group)) }
        if let lab { root.append(XML.Element("\(prefix)lab", attributes: [("name", lab.name), ("digest", lab.digest)])) }
        return root
    }

    /// Reads the element back whatever prefix libvirt used when it stored it; nil when it lacks what every
    /// vmctl VM has. Entries it cannot read are skipped: for showing a VM, not for changing it (`read`).
    public init?(element: XML.Element) {
        guard let metadata = try? Self(element: element, strict: false) else { return nil }
        self = metadata
    }

    /// Reads the element back; `strict` makes an entry it cannot read an error instead of skipping it, so
    /// that a change written back never drops what it did not understand (a forward, a group).
    init(element: XML.Element, strict: Bool) throws {
        let prefix = element.prefix
        func text(_ name: String) -> String? { element.first(prefix + name)?.text }
        guard let image = text("image"), let instanceID = text("instance-id") else {
            throw VMCtlError.invalid("vmctl's metadata lacks the image or instance id")
        }
        var volumes: [String: String] = [:]
        for volume in element.all(prefix + "volume") {
            if let role = volume[attribute: "role"] { volumes[role] = volume.text }
        }
        self.init(
            image: image, flavor: text("flavor"), instanceID: instanceID, hostname: text("hostname") ?? "",
            accelerator: text("accelerator") ?? "", created: text("created") ?? "", volumes: volumes,
            sshKeys: element.all(prefix + "ssh-key").map(\.text))
        forwards = try element.all(prefix + "forward").compactMap { forward in
            guard let name = forward[attribute: "name"], let proto = forward[attribute: "proto"].flatMap(TransportProtocol.init(rawValue:)),
                  let hostPort = forward[attribute: "host-port"].flatMap(UInt16.init),
                  let guestPort = forward[attribute: "guest-port"].flatMap(UInt16.init),
                  forward[attribute: "host-ip"].map({ IPv4Address($0) != nil }) ?? true else {
                if strict {
                    throw VMCtlError.invalid("vmctl's metadata has an unreadable forward '\(ResourceName.printable(forward[attribute: "name"] ?? "?"))'")
                }
                return nil
            }
            return ForwardRule(name: name, proto: proto, hostAddress: forward[attribute: "host-ip"].flatMap(IPv4Address.init),
                               hostPort: hostPort, guestPort: guestPort)
        }
        securityGroups = element.all(prefix + "security-group").map(\.text)
        lab = element.first(prefix + "lab").flatMap { lab in
            lab[attribute: "name"].map { LabOwnership(name: $0, digest: lab[attribute: "digest"] ?? "") }
        }
    }

    /// The metadata of a domain for a change that is written back: nil when vmctl did not make the domain
    /// (no vmctl element), an error when the element is there but cannot be read in full.
    static func read(domain: DomainDocument) throws -> VMMetadata? {
        guard let element = domain.metadata(namespaceURI: VMCtlNames.metadataNamespace) else { return nil }
        do {
            return try VMMetadata(element: element, strict: true)
        } catch let error as VMCtlError {
            throw error.prefixed("VM '\(domain.name)'")
        }
    }

    public init?(domain: DomainDocument) {
        guard let element = domain.metadata(namespaceURI: VMCtlNames.metadataNamespace) else { return nil }
        self.init(element: element)
    }
}

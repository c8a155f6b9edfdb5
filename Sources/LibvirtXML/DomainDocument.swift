/// The part of libvirt's domain XML that vmctl writes and reads back.
///
/// Parsing keeps only these fields: vmctl never redefines a domain from a parsed document
/// without starting from its own full description.
public struct DomainDocument: Sendable, Equatable {
    public enum VirtType: String, Sendable { case kvm, qemu }

    public struct Disk: Sendable, Equatable {
        public enum Source: Sendable, Equatable {
            case volume(pool: String, volume: String)
            case file(path: String)
        }
        public var source: Source
        public var format: String
        public var target: String
        public var bus: String
        public var isReadOnly: Bool

        public init(source: Source, format: String, target: String, bus: String = "virtio", isReadOnly: Bool = false) {
            self.source = source
            self.format = format
            self.target = target
            self.bus = bus
            self.isReadOnly = isReadOnly
        }
    }

    public struct Interface: Sendable, Equatable {
        public var network: String
        public var mac: String?
        public var model: String
        /// The host-side tap device of a running domain (libvirt picks it; only read, never written).
        public var hostDevice: String?

        public init(network: String, mac: String?, model: String = "virtio", hostDevice: String? = nil) {
            self.network = network
            self.mac = mac
            self.model = model
            self.hostDevice = hostDevice
        }
    }

    public var type: VirtType
    public var name: String
    public var uuid: String?
    public var title: String?
    public var description: String?
    /// Custom elements under `<metadata>`, each in its own namespace.
    public var metadata: [XML.Element]
    /// The most memory the guest may be given without a restart (the balloon's ceiling).
    public var maxMemoryKiB: UInt64
    public var currentMemoryKiB: UInt64
    /// vCPUs the domain could hot-plug up to, and how many are plugged now.
    public var maxVcpus: Int
    public var vcpus: Int
    public var machine: String?
    public var arch: String
    /// `host-passthrough` for KVM; nil lets the emulator pick its default model (TCG).
    public var cpuMode: String?
    public var disks: [Disk]
    public var interfaces: [Interface]
    /// Where the serial console's output is logged on the host.
    public var serialLogPath: String?

    public init(
        type: VirtType, name: String, uuid: String? = nil, title: String? = nil, description: String? = nil,
        metadata: [XML.Element] = [], maxMemoryKiB: UInt64, currentMemoryKiB: UInt64, maxVcpus: Int, vcpus: Int,
        machine: String? = "pc", arch: String = "x86_64", cpuMode: String? = nil,
        disks: [Disk] = [], interfaces: [Interface] = [], serialLogPath: String? = nil
    ) {
        self.type = type
        self.name = name
        self.uuid = uuid
        self.title = title
        self.description = description
        self.metadata = metadata
        self.maxMemoryKiB = maxMemoryKiB
        self.currentMemoryKiB = currentMemoryKiB
        self.maxVcpus = maxVcpus
        self.vcpus = vcpus
        self.machine = machine
        self.arch = arch
        self.cpuMode = cpuMode
        self.disks = disks
        self.interfaces = interfaces
        self.serialLogPath = serialLogPath
    }

    public var element: XML.Element {
        var domain = XML.Element("domain", attributes: [("type", type.rawValue)])
        domain.append(XML.Element("name", text: name))
        if let uuid { domain.append(XML.Element("uuid", text: uuid)) }
        if let title { domain.append(XML.Element("title", text: title)) }
        if let description { domain.append(XML.Element("description", text: description)) }
        if !metadata.isEmpty { domain.append(XML.Element("metadata", children: metadata.map(XML.Node.element))) }
        domain.append(XML.Element("memory", attributes: [("unit", "KiB")], text: String(maxMemoryKiB)))
        domain.append(XML.Element("currentMemory", attributes: [("unit", "KiB")], text: String(currentMemoryKiB)))
        domain.append(XML.Element(
            "vcpu", attributes: [("placement", "static"), ("current", vcpus < maxVcpus ? String(vcpus) : nil)],
            text: String(maxVcpus)))
        domain.append(XML.Element("os", children: [
            .element(XML.Element("type", attributes: [("arch", arch), ("machine", machine)], text: "hvm")),
            .element(XML.Element("boot", attributes: [("dev", "hd")])),
        ]))
        domain.append(XML.Element("features", children: [.element(XML.Element("acpi")), .element(XML.Element("apic"))]))
        if let cpuMode { domain.append(XML.Element("cpu", attributes: [("mode", cpuMode)])) }
        domain.append(XML.Element("clock", attributes: [("offset", "utc")]))
        domain.append(XML.Element("on_poweroff", text: "destroy"))
        domain.append(XML.Element("on_reboot", text: "restart"))
        domain.append(XML.Element("on_crash", text: "destroy"))

        var devices = XML.Element("devices")
        devices.append(contentsOf: disks.map(Self.element(for:)))
        devices.append(contentsOf: interfaces.map { interface in
            XML.Element("interface", attributes: [("type", "network")], children: [
                .element(XML.Element("source", attributes: [("network", interface.network)])),
                interface.mac.map { .element(XML.Element("mac", attributes: [("address", $0)])) },
                .element(XML.Element("model", attributes: [("type", interface.model)])),
            ].compactMap { $0 })
        })
        // A pty serial port gives an interactive console; its <log> keeps everything the guest printed.
        var serial = XML.Element("serial", attributes: [("type", "pty")])
        if let serialLogPath { serial.append(XML.Element("log", attributes: [("file", serialLogPath), ("append", "on")])) }
        serial.append(XML.Element("target", attributes: [("port", "0")]))
        devices.append(serial)
        devices.append(XML.Element("console", attributes: [("type", "pty")], children: [
            .element(XML.Element("target", attributes: [("type", "serial"), ("port", "0")])),
        ]))
        devices.append(XML.Element("memballoon", attributes: [("model", "virtio")]))
        devices.append(XML.Element("rng", attributes: [("model", "virtio")], children: [
            .element(XML.Element("backend", attributes: [("model", "random")], text: "/dev/urandom")),
        ]))
        domain.append(devices)
        return domain
    }

    public var xml: String { XMLWriter.render(element) }

    private static func element(for disk: Disk) -> XML.Element {
        let source: XML.Element
        let type: String
        switch disk.source {
        case .volume(let pool, let volume):
            type = "volume"
            source = XML.Element("source", attributes: [("pool", pool), ("volume", volume)])
        case .file(let path):
            type = "file"
            source = XML.Element("source", attributes: [("file", path)])
        }
        var element = XML.Element("disk", attributes: [("type", type), ("device", "disk")], children: [
            .element(XML.Element("driver", attributes: [("name", "qemu"), ("type", disk.format)])),
            .element(source),
            .element(XML.Element("target", attributes: [("dev", disk.target), ("bus", disk.bus)])),
        ])
        if disk.isReadOnly { element.append(XML.Element("readonly")) }
        return element
    }

    public init(xml: String) throws {
        let root = try XMLReader.parse(xml)
        guard root.name == "domain" else { throw DocumentError("expected <domain>, found <\(root.name)>") }
        guard let type = VirtType(rawValue: root[attribute: "type"] ?? "") else {
            throw DocumentError("domain type '\(root[attribute: "type"] ?? "")' is not kvm or qemu")
        }
        let vcpu = root.first("vcpu")
        let maxVcpus = Int(vcpu?.text.trimmed ?? "") ?? 1
        let maxMemory = ScaledInteger.kibibytes(root.first("memory")) ?? 0
        let devices = root.first("devices")
        self.init(
            type: type,
            name: try root.requiredText("name", in: "domain"),
            uuid: root.optionalText("uuid"),
            title: root.optionalText("title"),
            description: root.optionalText("description"),
            metadata: root.first("metadata")?.elements ?? [],
            maxMemoryKiB: maxMemory,
            currentMemoryKiB: ScaledInteger.kibibytes(root.first("currentMemory")) ?? maxMemory,
            maxVcpus: maxVcpus,
            vcpus: vcpu?[attribute: "current"].flatMap { Int($0) } ?? maxVcpus,
            machine: root.first(path: "os", "type")?[attribute: "machine"],
            arch: root.first(path: "os", "type")?[attribute: "arch"] ?? "x86_64",
            cpuMode: root.first("cpu")?[attribute: "mode"],
            disks: (devices?.all("disk") ?? []).compactMap(Self.disk(from:)),
            interfaces: (devices?.all("interface") ?? []).compactMap { element in
                guard let network = element.first("source")?[attribute: "network"] else { return nil }
                return Interface(
                    network: network, mac: element.first("mac")?[attribute: "address"],
                    model: element.first("model")?[attribute: "type"] ?? "virtio",
                    hostDevice: element.first("target")?[attribute: "dev"])
            },
            serialLogPath: devices?.first(path: "serial", "log")?[attribute: "file"]
        )
    }

    private static func disk(from element: XML.Element) -> Disk? {
        guard let sourceElement = element.first("source"), let target = element.first("target") else { return nil }
        let source: Disk.Source
        if let pool = sourceElement[attribute: "pool"], let volume = sourceElement[attribute: "volume"] {
            source = .volume(pool: pool, volume: volume)
        } else if let file = sourceElement[attribute: "file"] {
            source = .file(path: file)
        } else {
            return nil
        }
        return Disk(
            source: source, format: element.first("driver")?[attribute: "type"] ?? "raw",
            target: target[attribute: "dev"] ?? "", bus: target[attribute: "bus"] ?? "virtio",
            isReadOnly: element.first("readonly") != nil)
    }

    /// The metadata element with the given namespace URI, if any.
    public func metadata(namespaceURI: String) -> XML.Element? {
        metadata.first { $0.declares(namespaceURI: namespaceURI) }
    }
}

import LibvirtXML

/// What vmctl records in a network's `<metadata>`.
public struct NetworkMetadata: Sendable, Equatable {
    public var mode: NetworkMode
    /// The lab that created the network (lab files); nil for networks made by hand.
    public var lab: String?

    public init(mode: NetworkMode, lab: String? = nil) {
        self.mode = mode
        self.lab = lab
    }

    /// Every mode is a libvirt `open` network: libvirt routes and adds no firewall rules of its own
    /// (its NAT networks' FORWARD REJECT rules cannot be overridden from another table), and vmctl's
    /// table makes the mode: masquerade for nat, group-filtered routing for routed, nothing out for isolated.
    static func libvirtForward(for mode: NetworkMode) -> NetworkDocument.ForwardMode? { .open }

    public var element: XML.Element {
        let prefix = VMCtlNames.metadataPrefix
        return XML.Element("\(prefix):network", attributes: [
            ("xmlns:\(prefix)", VMCtlNames.metadataNamespace), ("version", "1"),
        ], children: [.element(XML.Element("\(prefix):mode", text: mode.rawValue))]
            + (lab.map { [.element(XML.Element("\(prefix):lab", text: $0))] } ?? []))
    }

    public init?(document: NetworkDocument) {
        guard let element = document.metadata(namespaceURI: VMCtlNames.metadataNamespace) else { return nil }
        let prefix = element.prefix
        // Networks made before modes were recorded are vmctl's default NAT network.
        self.init(mode: element.first(prefix + "mode").flatMap { NetworkMode(rawValue: $0.text) } ?? .nat,
                  lab: element.first(prefix + "lab")?.text)
    }
}

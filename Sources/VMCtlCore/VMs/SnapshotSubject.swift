import Foundation
import LibvirtXML

/// What a snapshot plan needs to know about a domain, read from its (live) XML.
///
/// `DomainDocument` keeps only what vmctl writes; snapshots must also see what others may have put in a
/// domain (CD-ROMs, block devices, shared disks, UEFI firmware), so this reads the XML itself.
public struct SnapshotSubject: Sendable, Equatable {
    public struct Disk: Sendable, Equatable {
        public enum Source: Sendable, Equatable {
            case file(path: String)
            case volume(pool: String, volume: String)
            /// Block devices, network disks, empty drives: nothing vmctl can put an overlay beside.
            case other(String)
        }

        public var target: String
        /// `disk`, `cdrom`, `floppy` or `lun`.
        public var device: String
        public var format: String
        public var source: Source
        public var isReadOnly: Bool
        public var isShareable: Bool

        public init(target: String, device: String = "disk", format: String, source: Source,
                    isReadOnly: Bool = false, isShareable: Bool = false) {
            self.target = target
            self.device = device
            self.format = format
            self.source = source
            self.isReadOnly = isReadOnly
            self.isShareable = isShareable
        }
    }

    public var name: String
    /// Running or paused: a snapshot can include the guest's RAM.
    public var isActive: Bool
    public var disks: [Disk]
    /// `<os><loader type='pflash'>` (UEFI with writable variables) or an `<nvram>` file.
    public var pflashFirmware: String?

    public init(name: String, isActive: Bool, disks: [Disk], pflashFirmware: String? = nil) {
        self.name = name
        self.isActive = isActive
        self.disks = disks
        self.pflashFirmware = pflashFirmware
    }

    public init(domainXML: String, isActive: Bool) throws {
        try self.init(domain: try XMLReader.parse(domainXML), isActive: isActive)
    }

    public init(domain root: XML.Element, isActive: Bool) throws {
        guard root.name == "domain" else { throw VMCtlError.invalid("expected a <domain> document, found <\(root.name)>") }
        let os = root.first("os")
        var firmware: String?
        if let loader = os?.first("loader"), loader[attribute: "type"] == "pflash" {
            firmware = loader.text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let nvram = os?.first("nvram") {
            let path = nvram.text.trimmingCharacters(in: .whitespacesAndNewlines)
            firmware = path.isEmpty ? (firmware ?? "nvram") : path
        } else if firmware == nil, os?[attribute: "firmware"] == "efi" {
            firmware = "efi"
        }
        let disks = (root.first("devices")?.all("disk") ?? []).map { element -> Disk in
            let source = element.first("source")
            let resolved: Disk.Source
            let type = element[attribute: "type"] ?? "file"
            if type == "file", let path = source?[attribute: "file"] {
                resolved = .file(path: path)
            } else if type == "volume", let pool = source?[attribute: "pool"], let volume = source?[attribute: "volume"] {
                resolved = .volume(pool: pool, volume: volume)
            } else {
                resolved = .other(source == nil ? "no source" : "\(type) source")
            }
            return Disk(
                target: element.first("target")?[attribute: "dev"] ?? "?",
                device: element[attribute: "device"] ?? "disk",
                format: element.first("driver")?[attribute: "type"] ?? "raw",
                source: resolved,
                isReadOnly: element.first("readonly") != nil,
                isShareable: element.first("shareable") != nil)
        }
        self.init(name: root.first("name")?.text ?? "", isActive: isActive, disks: disks, pflashFirmware: firmware)
    }
}

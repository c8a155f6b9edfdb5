public enum VMCtlNames {
    public static let defaultNetwork = "vmctl"
    public static let storagePool = "vmctl"
    /// XML namespace of vmctl's metadata in libvirt objects.
    public static let metadataNamespace = "https://vmctl.dev/xmlns/1"
    public static let metadataPrefix = "vmctl"

    static let volumeRoles = ["root": "-root.qcow2", "seed": "-seed.iso"]
    static func rootVolume(of vm: String) -> String { "vm-\(vm)-root.qcow2" }
    static func seedVolume(of vm: String) -> String { "vm-\(vm)-seed.iso" }
    static func creationLock(of vm: String) -> String { "create-\(vm)" }
    static func exportLock(of vm: String) -> String { "export-\(vm)" }

    /// The VM a volume was made for, from its name (`vm-NAME-root.qcow2` → NAME). Parsed against the known
    /// roles, and VM names have no '.', so `vm-web-2-root.qcow2` is web-2's and never web's.
    static func owner(ofVolume volume: String) -> String? {
        guard volume.hasPrefix("vm-") else { return nil }
        for suffix in volumeRoles.values where volume.hasSuffix(suffix) {
            let owner = String(volume.dropFirst(3).dropLast(suffix.count))
            return ResourceName.isValid(owner) ? owner : nil
        }
        return nil
    }

    /// The flattened copy an export streams from: `export-NAME-XXXXXXXX.qcow2`, XXXXXXXX 8 random hex digits.
    static func exportVolume(of vm: String) -> String {
        let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return "export-\(vm)-" + String(repeating: "0", count: 8 - hex.count) + hex + ".qcow2"
    }

    /// The VM an export's temporary volume was made for (`export-web-2-0a1b2c3d.qcow2` → web-2).
    static func owner(ofExportVolume volume: String) -> String? {
        guard volume.hasPrefix("export-"), volume.hasSuffix(".qcow2") else { return nil }
        let middle = volume.dropFirst("export-".count).dropLast(".qcow2".count)
        guard let dash = middle.lastIndex(of: "-") else { return nil }
        let token = middle[middle.index(after: dash)...]
        let owner = String(middle[..<dash])
        // Exports before this naming used 1 to 8 digits (radix 16 of a random UInt32).
        guard (1...8).contains(token.count), token.allSatisfy(\.isHexDigit), token.allSatisfy({ $0.isASCII }),
              ResourceName.isValid(owner) else { return nil }
        return owner
    }
    static func imageVolume(_ image: String, format: String) -> String { "image-\(image).\(format)" }
    static func serialLog(of vm: String) -> String { "/var/log/libvirt/qemu/\(vm)-serial.log" }
}

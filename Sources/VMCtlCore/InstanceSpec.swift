/// What a user asks for when creating a VM. Codable so fleet files can carry the same fields.
public struct InstanceSpec: Codable, Sendable, Equatable {
    public static let currentVersion = 1
    public static let defaultImage = "tiny"
    public static let defaultMemory = ByteSize.mebibytes(512)
    public static let defaultDisk = ByteSize.gibibytes(2)
    public static let maximumCPUs = 64

    public var version: Int
    public var name: String
    public var image: String
    public var flavor: String?
    public var cpus: Int
    public var memory: ByteSize
    public var disk: ByteSize
    public var network: String
    public var sshAuthorizedKeys: [String]
    public var accel: AcceleratorPreference
    /// Commands the guest runs once, on its first boot (NoCloud `runcmd`).
    public var runCommands: [String]
    /// A fixed address on the network (nil: the first free one of its DHCP range).
    public var address: IPv4Address? = nil
    /// The lab that creates this VM (fleet files): recorded in its metadata as its owner.
    public var lab: LabOwnership? = nil

    public init(
        name: String, image: String = InstanceSpec.defaultImage, flavor: String? = nil,
        cpus: Int? = nil, memory: ByteSize? = nil, disk: ByteSize? = nil,
        network: String = VMCtlNames.defaultNetwork, sshAuthorizedKeys: [String] = [],
        accel: AcceleratorPreference = .auto, runCommands: [String] = []
    ) throws {
        // A flavor gives the base size; explicit values override it, as `openstack server create` does not
        // allow but VirtualBox users expect.
        let base = try flavor.map(Flavor.named)
        self.version = Self.currentVersion
        self.name = name
        self.image = image
        self.flavor = flavor
        self.cpus = cpus ?? base?.cpus ?? 1
        self.memory = memory ?? base?.memory ?? Self.defaultMemory
        self.disk = disk ?? base?.disk ?? Self.defaultDisk
        self.network = network
        self.sshAuthorizedKeys = sshAuthorizedKeys
        self.accel = accel
        self.runCommands = runCommands
    }

    public func validate() throws {
        guard version == Self.currentVersion else {
            throw VMCtlError("unsupported instance spec version \(version) (this vmctl reads version \(Self.currentVersion))")
        }
        try ResourceName.validate(name, kind: "VM")
        try ResourceName.validate(image, kind: "image")
        try ResourceName.validate(network, kind: "network")
        guard (1...Self.maximumCPUs).contains(cpus) else {
            throw VMCtlError("invalid cpus \(cpus): use 1 to \(Self.maximumCPUs)")
        }
        guard memory >= .mebibytes(64) else {
            throw VMCtlError("invalid memory \(memory): a VM needs at least 64M")
        }
        guard disk >= .mebibytes(16) else { throw VMCtlError("invalid disk \(disk): use at least 16M") }
        for key in sshAuthorizedKeys where !SSHKey.looksLikePublicKey(key) {
            throw VMCtlError("invalid SSH public key '\(key.prefix(40))': expected 'TYPE BASE64 [comment]' on one line")
        }
    }

    /// Hot-plug headroom: the definition allows growing memory and vCPUs live up to these values.
    public var maximumMemory: ByteSize {
        ByteSize(bytes: max(memory.bytes, min(memory.bytes * 2, memory.bytes + (4 << 30))))
    }

    public var maximumCPUs: Int { max(cpus, min(Self.maximumCPUs, max(4, cpus * 2))) }
}

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

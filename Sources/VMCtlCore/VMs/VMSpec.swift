/// What a user asks for when creating a VM. Codable so lab files can carry the same fields.
public struct VMSpec: Codable, Sendable, Equatable {
    public static let currentVersion = 1
    public static let defaultImage = "tiny"
    public static let defaultMemory = ByteSize.mebibytes(512)
    public static let defaultDisk = ByteSize.gibibytes(2)

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
    /// The lab that creates this VM (lab files): recorded in its metadata as its owner.
    public var lab: LabOwnership? = nil

    public init(
        name: String, image: String = VMSpec.defaultImage, flavor: String? = nil,
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
            throw VMCtlError.invalid("unsupported VM spec version \(version) (this vmctl reads version \(Self.currentVersion))")
        }
        try ResourceName.validate(name, kind: "VM")
        try ResourceName.validate(image, kind: "image")
        try ResourceName.validate(network, kind: "network")
        try VMSizeLimits.check(cpus: cpus)
        try VMSizeLimits.check(memory: memory)
        try VMSizeLimits.check(disk: disk)
        for key in sshAuthorizedKeys where !SSHKey.looksLikePublicKey(key) {
            throw VMCtlError.invalid("invalid SSH public key '\(key.prefix(40))': expected 'TYPE BASE64 [comment]' on one line")
        }
    }

    /// Hot-plug headroom: the definition allows growing memory and vCPUs live up to these values.
    public var maximumMemory: ByteSize {
        ByteSize(bytes: max(memory.bytes, min(memory.bytes * 2, memory.bytes + (4 << 30))))
    }

    public var maximumCPUs: Int { max(cpus, min(VMSizeLimits.cpus.upperBound, max(4, cpus * 2))) }
}

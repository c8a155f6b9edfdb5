import Libvirt
import LibvirtXML

/// What the user asked to change; nil fields stay as they are.
public struct ResizeRequest: Sendable, Equatable {
    public var cpus: Int?
    public var memory: ByteSize?
    public var disk: ByteSize?
    public var flavor: String?

    public init(cpus: Int? = nil, memory: ByteSize? = nil, disk: ByteSize? = nil, flavor: String? = nil) {
        self.cpus = cpus
        self.memory = memory
        self.disk = disk
        self.flavor = flavor
    }
}

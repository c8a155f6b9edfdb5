import Libvirt
import LibvirtXML

/// A VM's sizes now, and the ceilings it was defined with.
public struct ResizeState: Sendable, Equatable {
    public var isRunning: Bool
    public var cpus: Int
    public var maxCPUs: Int
    public var memory: ByteSize
    public var maxMemory: ByteSize
    public var disk: ByteSize

    public init(isRunning: Bool, cpus: Int, maxCPUs: Int, memory: ByteSize, maxMemory: ByteSize, disk: ByteSize) {
        self.isRunning = isRunning
        self.cpus = cpus
        self.maxCPUs = maxCPUs
        self.memory = memory
        self.maxMemory = maxMemory
        self.disk = disk
    }
}

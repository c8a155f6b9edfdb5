import Libvirt
import LibvirtXML

/// One change and how it takes effect.
public struct ResizeChange: Codable, Sendable, Equatable {
    public enum Effect: String, Codable, Sendable {
        /// Applied to the running guest and to the definition.
        case live
        /// Applied to the definition; the running guest keeps the old value until it restarts.
        case restartNeeded = "restart-needed"
        /// The VM is stopped: applied to the definition (or the volume), seen at next boot.
        case offline
    }

    public let resource: String
    public let from: String
    public let to: String
    /// The exact new value (vCPUs, or bytes of memory or disk): what is applied, never `to` read back,
    /// which is rounded for reading.
    public let value: UInt64
    public var effect: Effect

    init(resource: String, from: String, to: String, value: UInt64, effect: Effect) {
        self.resource = resource
        self.from = from
        self.to = to
        self.value = value
        self.effect = effect
    }

    init(_ resource: String, from: ByteSize, to: ByteSize, effect: Effect) {
        self.init(resource: resource, from: from.exactDescription, to: to.exactDescription, value: to.bytes, effect: effect)
    }
}

import Foundation
import Libvirt
import LibvirtXML

/// What `vmctl list` and `vmctl info` report about a VM.
public struct VMSummary: Codable, Sendable, Equatable {
    public let name: String
    public let state: String
    public let cpus: Int
    public let memory: String
    public let image: String?
    public let network: String?
    public let mac: String?
    public let addresses: [String]
    /// False for domains vmctl did not create (they are listed, not managed).
    public let managed: Bool
}

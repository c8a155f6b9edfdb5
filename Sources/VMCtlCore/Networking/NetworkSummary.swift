import Foundation
import Libvirt
import LibvirtXML

public struct NetworkSummary: Codable, Sendable, Equatable {
    public let name: String
    public let mode: String
    public let subnet: String?
    public let gateway: String?
    public let dhcp: String?
    public let bridge: String?
    public let active: Bool
    public let autostart: Bool
    public let vms: [String]
    /// False for networks vmctl did not make.
    public let managed: Bool
    /// Pinned addresses (DHCP host entries), as NAME=ADDRESS.
    public let pinned: [String]
}

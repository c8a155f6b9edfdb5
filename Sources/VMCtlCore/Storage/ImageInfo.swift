import Foundation
import Libvirt
import LibvirtXML

/// An image in vmctl's pool, from which VMs get copy-on-write disks.
public struct ImageInfo: Codable, Sendable, Equatable {
    public let name: String
    public let format: String
    public let virtualSize: UInt64
    public let allocation: UInt64
    public let volume: String
    public let path: String
}

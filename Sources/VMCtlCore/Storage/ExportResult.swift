import Foundation
import Libvirt
import LibvirtXML

/// What `vmctl export` reports.
public struct ExportResult: Codable, Sendable, Equatable {
    public let vm: String
    public let file: String
    /// The archive's size in bytes.
    public let bytes: UInt64
    /// The root disk member's size (the flattened qcow2 file) and its size as the guest sees it.
    public let diskBytes: UInt64
    public let diskVirtualSize: UInt64
}

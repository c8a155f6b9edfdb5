import Foundation
import Libvirt
import LibvirtXML

public enum CloneMode: String, Codable, Sendable, CaseIterable {
    /// A copy-on-write overlay on the source's disk: made in constant time; the source must then stay unchanged.
    case linked
    /// An independent, flattened copy made by the daemon.
    case full
}

import Foundation
import Libvirt
import LibvirtXML

/// A volume an interrupted command left behind, and the VM it was made for.
public struct Leftover: Sendable, Equatable {
    public enum Origin: String, Sendable {
        /// A create or clone (or import) killed before it defined its VM.
        case create
        /// An export killed before it removed its temporary flattened copy.
        case export
    }

    public let owner: String
    public let volume: String
    public let origin: Origin
}

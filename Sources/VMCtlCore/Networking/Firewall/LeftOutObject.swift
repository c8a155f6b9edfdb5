import Foundation
import Libvirt
import LibvirtXML

/// An object the firewall leaves out, and why.
public struct LeftOutObject: Sendable, Equatable, CustomStringConvertible {
    /// Names the object the same way whatever the reason ("port forward 'ssh' of VM 'web'"), so the objects
    /// left out before and after a change can be compared.
    public let object: String
    public let reason: String

    public init(object: String, reason: String) {
        self.object = object
        self.reason = reason
    }

    public var description: String { "\(object) is left out of the firewall: \(reason)" }
}

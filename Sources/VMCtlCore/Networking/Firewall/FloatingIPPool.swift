import Foundation
import Libvirt
import LibvirtXML

/// A floating IP pool: addresses on a host interface that can stand for guests (OpenStack's external network).
public struct FloatingIPPool: Codable, Sendable, Equatable {
    public struct Allocation: Codable, Sendable, Equatable {
        public var address: IPv4Address
        /// The VM the address is associated with; nil while only allocated.
        public var vm: String?
        /// The instance id of that VM when it was associated (nil in states written before it was kept):
        /// a VM made later under the same name is another VM and does not get the address.
        public var instanceID: String? = nil
    }

    public var name: String
    public var interface: String
    public var range: IPv4Range
    public var allocations: [Allocation]
    /// The lab (lab files) that created the pool; nil for pools made by hand.
    public var lab: String? = nil
}

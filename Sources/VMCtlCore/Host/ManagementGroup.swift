import Foundation
import Libvirt

/// Host processes reach guests only as the guests' networks and security groups allow (not at all on nat
/// and isolated networks, as with VirtualBox's NAT). vmctl's own traffic to guests (readiness probes, ssh)
/// is its management channel: it runs with the `vmctl` group, and the firewall lets that group's sockets
/// reach every guest on every port.
public enum ManagementGroup {
    public static let name = "vmctl"

    public static var gid: UInt32? { getgrnam(name).map { UInt32($0.pointee.gr_gid) } }

    /// Takes the group as real and effective group (root only; libvirt refuses to run with the two
    /// different, as in a setgid program); sockets and child processes then carry it.
    static func adopt() {
        guard getuid() == 0, let gid else { return }
        _ = setgid(gid_t(gid))
    }
}

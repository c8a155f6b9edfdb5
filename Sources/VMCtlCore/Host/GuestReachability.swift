import Foundation

/// Decides whether vmctl may send packets to a guest address, and checks whether the guest answers.
public enum GuestReachability {
    /// True when `address` lies in the subnet of an interface of this network namespace (a guest bridge).
    /// Anything else would be sent along a route, towards hosts that are not ours: vmctl never does that.
    public static func isOnLink(_ target: IPv4Address) -> Bool {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return false }
        defer { freeifaddrs(list) }
        for entry in sequence(first: first, next: { $0.pointee.ifa_next }) {
            guard let addr = entry.pointee.ifa_addr, addr.pointee.sa_family == sa_family_t(AF_INET),
                  let mask = entry.pointee.ifa_netmask else { continue }
            let local = addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
            let netmask = mask.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
            if netmask != 0, netmask != 0xffff_ffff, local & netmask == target.value & netmask, local != target.value {
                return true
            }
        }
        return false
    }

    /// A TCP socket connecting to `port` of an on-link guest address (nil for any other address, so no
    /// packet is routed away): the socket, which the caller closes, and connect()'s result. `flags` are
    /// extra socket flags (SOCK_NONBLOCK); `configure` runs before connecting (timeouts).
    static func connectOnLink(_ target: IPv4Address, port: UInt16, flags: Int32 = 0,
                              configure: (Int32) -> Void = { _ in }) -> (fd: Int32, result: Int32)? {
        guard isOnLink(target) else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | flags, 0)
        guard fd >= 0 else { return nil }
        configure(fd)
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = target.value.bigEndian
        let result = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return (fd, result)
    }

    public enum Reply: Sendable, Equatable {
        /// Something listens on the port.
        case accepted
        /// The guest's network stack is up but nothing listens on the port yet.
        case refused
        /// No reply: the guest is not up, or the address is not reachable from here.
        case silent
    }

    /// A guest answers when a TCP connection to `port` is accepted or actively refused: either way its
    /// network stack replied, which a DHCP lease alone does not prove.
    public static func answers(_ address: IPv4Address, port: UInt16 = 22, timeout: Seconds = 0.3) -> Bool {
        probe(address, port: port, timeout: timeout) != .silent
    }

    public static func probe(_ address: IPv4Address, port: UInt16, timeout: Seconds = 0.3) -> Reply {
        guard let (fd, started) = connectOnLink(address, port: port, flags: Int32(SOCK_NONBLOCK.rawValue)) else { return .silent }
        defer { close(fd) }
        if started == 0 { return .accepted }
        if errno == ECONNREFUSED { return .refused }
        guard errno == EINPROGRESS else { return .silent }
        var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&descriptor, 1, timeout.pollMilliseconds) == 1 else { return .silent }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        switch error {
        case 0: return .accepted
        case ECONNREFUSED: return .refused
        default: return .silent
        }
    }
}

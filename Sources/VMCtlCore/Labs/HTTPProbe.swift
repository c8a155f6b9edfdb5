import Foundation

/// A minimal HTTP/1.0 GET on the calling thread (which is in libvirtd's network namespace): the status code.
enum HTTPProbe {
    static func status(_ address: IPv4Address, port: UInt16, path: HTTPPath, timeout: Seconds = 2) -> Int? {
        let connection = GuestReachability.connectOnLink(address, port: port) { fd in
            var wait = timeout.timeval
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        }
        guard let (fd, connected) = connection else { return nil }
        defer { close(fd) }
        guard connected == 0 else { return nil }
        let request = Array("GET \(path.text) HTTP/1.0\r\nHost: \(address)\r\nUser-Agent: vmctl\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
        var buffer = [UInt8](repeating: 0, count: 256)
        var received = 0
        while received < buffer.count {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + received, $0.count - received, 0) }
            if count <= 0 { break }
            received += count
            if buffer[..<received].contains(UInt8(ascii: "\n")) { break }
        }
        let line = String(decoding: buffer[..<received], as: UTF8.self).split(separator: "\r\n").first ?? ""
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/") else { return nil }
        return Int(parts[1])
    }
}

import Foundation

/// Sockets listening on this host (in libvirtd's network namespace, which vmctl has joined).
enum ListeningSockets {
    /// Where a listening socket holds `port`, or nil. TCP: sockets in LISTEN; UDP: any bound socket.
    /// A table that cannot be read is an error: the port may well be held.
    static func holder(of port: UInt16, proto: TransportProtocol, address: IPv4Address?) throws -> String? {
        let file = "/proc/thread-self/net/\(proto.rawValue)"
        let table: String
        do {
            table = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw VMCtlError.failed("cannot tell whether host port \(proto.rawValue)/\(port) is in use: cannot read \(file)", cause: error)
        }
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 3 else { continue }
            let local = fields[1].split(separator: ":")
            guard local.count == 2, let hexAddress = UInt32(local[0], radix: 16), let localPort = UInt16(local[1], radix: 16),
                  localPort == port else { continue }
            if proto == .tcp && fields[3] != "0A" { continue }
            let bound = IPv4Address(value: hexAddress.byteSwapped)
            if bound.value == 0 || address == nil || bound == address { return "\(bound):\(port)" }
        }
        return nil
    }
}

import Crypto
import Foundation

/// When a member counts as up.
public enum LabReadiness: Sendable, Equatable, CustomStringConvertible {
    /// The guest answers on its address (its network stack replies).
    case ip
    /// Its SSH server accepts connections.
    case ssh
    case tcp(UInt16)
    /// An HTTP GET of the path gets a 2xx or 3xx answer.
    case http(UInt16, HTTPPath)

    public init(parsing text: String) throws {
        let lower = text.lowercased()
        if lower == "ip" { self = .ip; return }
        if lower == "ssh" { self = .ssh; return }
        if lower.hasPrefix("tcp:") {
            self = .tcp(try Port(parsing: String(text.dropFirst(4)), what: "readiness port").number)
            return
        }
        if lower.hasPrefix("http:") {
            let rest = text.dropFirst(5)
            let portText = rest.prefix { $0 != "/" }
            let path = rest.dropFirst(portText.count)
            self = .http(try Port(parsing: String(portText), what: "readiness port").number, try HTTPPath(path.isEmpty ? "/" : String(path)))
            return
        }
        throw VMCtlError.invalid("invalid readiness check '\(ResourceName.printable(text))': use ip, ssh, tcp:PORT or http:PORT/PATH")
    }

    public var description: String {
        switch self {
        case .ip: "ip"
        case .ssh: "ssh"
        case .tcp(let port): "tcp:\(port)"
        case .http(let port, let path): "http:\(port)\(path)"
        }
    }
}

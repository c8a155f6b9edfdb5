import Crypto
import Foundation

/// The path of an HTTP readiness check. It goes into the request line vmctl writes (`GET PATH HTTP/1.0`),
/// so only what RFC 3986 allows in a path and query gets in: no space, CR, LF or other control byte that
/// would end the line or add headers.
public struct HTTPPath: Sendable, Equatable, CustomStringConvertible {
    public static let maximumLength = 1024
    static let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:@/?".utf8)

    public let text: String

    public init(_ text: String) throws {
        guard text.hasPrefix("/"), text.utf8.count <= Self.maximumLength, text.utf8.allSatisfy(Self.allowed.contains) else {
            throw VMCtlError.invalid("invalid readiness path '\(ResourceName.printable(String(text.prefix(60))))': use /PATH of at most \(Self.maximumLength) URL characters (no spaces or control characters)")
        }
        self.text = text
    }

    public var description: String { text }
}

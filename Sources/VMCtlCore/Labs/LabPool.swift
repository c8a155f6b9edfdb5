import Crypto
import Foundation

public struct LabPool: Sendable, Equatable {
    public var name: String
    public var uri: String
    public var interface: String
    public var range: IPv4Range
    public var origin: LabOrigin
}

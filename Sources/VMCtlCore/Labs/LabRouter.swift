import Crypto
import Foundation

public struct LabRouter: Sendable, Equatable {
    public var name: String
    public var uri: String
    public var networks: [LabReference]
    public var origin: LabOrigin
}

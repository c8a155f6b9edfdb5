import Crypto
import Foundation

public struct FleetRouter: Sendable, Equatable {
    public var name: String
    public var uri: String
    public var networks: [FleetReference]
    public var origin: FleetOrigin
}

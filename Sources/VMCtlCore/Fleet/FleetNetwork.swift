import Crypto
import Foundation

public struct FleetNetwork: Sendable, Equatable {
    public var spec: NetworkSpec
    public var uri: String
    public var origin: FleetOrigin
}

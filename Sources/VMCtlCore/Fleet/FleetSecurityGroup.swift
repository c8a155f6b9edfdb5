import Crypto
import Foundation

public struct FleetSecurityGroup: Sendable, Equatable {
    public var name: String
    public var uri: String
    public var rules: [FleetRule]
    public var ruleOrigins: [FleetOrigin]
    public var origin: FleetOrigin
}

import Crypto
import Foundation

public struct LabSecurityGroup: Sendable, Equatable {
    public var name: String
    public var uri: String
    public var rules: [LabRule]
    public var ruleOrigins: [LabOrigin]
    public var origin: LabOrigin
}

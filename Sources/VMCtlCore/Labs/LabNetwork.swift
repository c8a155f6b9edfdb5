import Crypto
import Foundation

public struct LabNetwork: Sendable, Equatable {
    public var spec: NetworkSpec
    public var uri: String
    public var origin: LabOrigin
}

import Crypto
import Foundation

/// A name that refers to another object, with where it was written (for dangling-reference errors).
public struct LabReference: Sendable, Equatable {
    public let name: String
    public let origin: LabOrigin
}

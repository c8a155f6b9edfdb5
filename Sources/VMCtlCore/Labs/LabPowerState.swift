import Crypto
import Foundation

/// Whether a member should be running.
public enum LabPowerState: String, Sendable, Codable {
    case running
    case stopped
}

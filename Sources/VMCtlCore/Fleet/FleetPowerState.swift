import Crypto
import Foundation

/// Whether a member should be running.
public enum FleetPowerState: String, Sendable, Codable {
    case running
    case stopped
}

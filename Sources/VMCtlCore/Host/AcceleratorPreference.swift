import Foundation
import Libvirt

public enum AcceleratorPreference: String, Codable, Sendable, CaseIterable {
    case auto, kvm, tcg
}

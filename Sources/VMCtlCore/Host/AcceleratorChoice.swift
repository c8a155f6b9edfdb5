import Foundation
import Libvirt

/// The domain type to define and, when vmctl fell back, the one notice to print.
public struct AcceleratorChoice: Sendable, Equatable {
    public let domainType: String
    public let notice: String?

    public static func choose(_ preference: AcceleratorPreference, kvm: KVMStatus) throws -> AcceleratorChoice {
        switch preference {
        case .tcg:
            return AcceleratorChoice(domainType: "qemu", notice: nil)
        case .kvm:
            guard kvm.isUsable else { throw VMCtlError(.unavailable, "KVM is not usable: \(kvm.reason)", hint: .accelerator) }
            return AcceleratorChoice(domainType: "kvm", notice: nil)
        case .auto:
            if kvm.isUsable { return AcceleratorChoice(domainType: "kvm", notice: nil) }
            return AcceleratorChoice(
                domainType: "qemu",
                notice: "KVM not usable (\(kvm.reason)); using TCG software emulation, which is slower")
        }
    }
}

import Foundation
import Libvirt

/// Whether hardware virtualization works on the host libvirt manages, and if not, why.
public struct KVMStatus: Sendable, Equatable {
    public let isUsable: Bool
    public let reason: String

    /// Reads the local host: a /dev/kvm that exists is not enough (a PVM device on a CPU without
    /// VT-x/AMD-V accepts guests that then hang), so CPU flags and the providing module are checked too.
    public static func probeLocalHost(
        cpuinfo: String? = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
        fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) },
        isReadWritable: (String) -> Bool = { access($0, R_OK | W_OK) == 0 }
    ) -> KVMStatus {
        guard fileExists("/dev/kvm") else {
            return KVMStatus(isUsable: false, reason: "/dev/kvm is missing (no KVM module loaded)")
        }
        let flags = Set((cpuinfo ?? "").split(separator: "\n").first { $0.hasPrefix("flags") }?
            .split(separator: " ").map(String.init) ?? [])
        let hasHardwareSupport = flags.contains("vmx") || flags.contains("svm")
        if !hasHardwareSupport {
            if fileExists("/sys/module/kvm_pvm") {
                return KVMStatus(isUsable: false,
                    reason: "/dev/kvm is a PVM device (kvm_pvm) on a CPU without VT-x/AMD-V: guests hang under it")
            }
            return KVMStatus(isUsable: false, reason: "the CPU has no VT-x/AMD-V (no vmx/svm flag)")
        }
        guard isReadWritable("/dev/kvm") else {
            return KVMStatus(isUsable: false, reason: "no permission to use /dev/kvm (join the kvm group)")
        }
        return KVMStatus(isUsable: true, reason: "/dev/kvm usable, CPU has \(flags.contains("vmx") ? "VT-x" : "AMD-V")")
    }

    /// For a remote host only libvirt can tell: does it offer `kvm` domains?
    public static func probe(connection: Connection, isLocal: Bool) -> KVMStatus {
        if isLocal { return probeLocalHost() }
        do {
            _ = try connection.domainCapabilities(arch: "x86_64", virtType: "kvm")
            return KVMStatus(isUsable: true, reason: "libvirt on the remote host offers KVM")
        } catch {
            return KVMStatus(isUsable: false, reason: "libvirt on the remote host offers no KVM: \(error)")
        }
    }
}

import Crypto
import Foundation

/// One VM of a lab: a Domain document with `count: N` gives N members, `NAME-1` … `NAME-N`.
public struct LabVM: Sendable, Equatable {
    public var name: String
    public var uri: String
    /// The Domain document's name and where it was written.
    public var domain: String
    public var origin: LabOrigin
    public var image: String
    public var flavor: String?
    public var cpus: Int
    public var memory: ByteSize
    public var disk: ByteSize
    public var accel: AcceleratorPreference
    public var state: LabPowerState
    public var network: LabReference
    public var address: IPv4Address?
    public var addressOrigin: LabOrigin?
    public var forwards: [ForwardRule]
    public var forwardOrigins: [LabOrigin]
    public var floatingPool: LabReference?
    public var securityGroups: [LabReference]
    public var sshKeys: [String]
    public var runCommands: [String]
    public var readiness: [LabReadiness]

    /// What cannot change without making the VM again: its image, network, address, accelerator, keys and
    /// first-boot commands. Recorded in the VM's metadata; a different digest means replace.
    public var digest: String {
        let parts: [String] = ["image=" + image, "network=" + network.name, "address=" + (address?.description ?? ""),
                               "accel=" + accel.rawValue] + sshKeys.map { "key=" + $0 } + runCommands.map { "run=" + $0 }
        let hash = SHA256.hash(data: Data(parts.joined(separator: "\n").utf8))
        return hash.prefix(8).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The spec `VMs.create` makes it from.
    public func instanceSpec(lab: String) throws -> VMSpec {
        var spec = try VMSpec(name: name, image: image, flavor: flavor, cpus: cpus, memory: memory, disk: disk,
                                    network: network.name, sshAuthorizedKeys: sshKeys, accel: accel, runCommands: runCommands)
        spec.address = address
        spec.lab = LabOwnership(name: lab, digest: digest)
        return spec
    }
}

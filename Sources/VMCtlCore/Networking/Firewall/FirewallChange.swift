import Foundation
import Libvirt
import LibvirtXML

/// A change of the firewall's inputs, staged in memory: the control state and VMs' metadata.
public struct FirewallChange {
    /// The inputs with the change so far.
    public private(set) var inputs: FirewallInputs
    /// VMs whose metadata the change touches.
    private(set) var changedVMs: [String] = []

    init(inputs: FirewallInputs) { self.inputs = inputs }

    public var control: ControlState {
        get { inputs.control }
        set { inputs.control = newValue }
    }

    /// The firewall state of the staged inputs, as recorded (nothing left out).
    public var state: FirewallState { FirewallStateBuilder.state(of: inputs, interfaceExists: { _ in true }).state }

    public func metadata(of vm: String) throws -> VMMetadata {
        guard let entry = inputs.vms.first(where: { $0.name == vm }) else {
            if inputs.foreignVMs.contains(vm) { throw VMCtlError.invalid("VM '\(vm)' was not made by vmctl") }
            throw VMCtlError.notFound("VM", vm)
        }
        return entry.metadata
    }

    public mutating func updateMetadata(of vm: String, _ change: (inout VMMetadata) throws -> Void) throws {
        var metadata = try metadata(of: vm)
        try change(&metadata)
        let index = inputs.vms.firstIndex { $0.name == vm }!
        inputs.vms[index].metadata = metadata
        if !changedVMs.contains(vm) { changedVMs.append(vm) }
    }
}

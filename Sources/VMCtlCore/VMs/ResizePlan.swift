import Libvirt
import LibvirtXML

/// Decides, without touching anything, how each requested size is applied: live within the ceilings
/// the domain was defined with, otherwise in the definition with a restart. Refusals come before any change.
public enum ResizePlan {
    public static func plan(_ request: ResizeRequest, state: ResizeState) throws -> [ResizeChange] {
        let flavor = try request.flavor.map(Flavor.named)
        let cpus = request.cpus ?? flavor?.cpus
        let memory = request.memory ?? flavor?.memory
        // A flavor never shrinks a disk (OpenStack refuses that too); an explicit --disk must not either.
        let disk = request.disk ?? flavor.map { max($0.disk, state.disk) }
        guard cpus != nil || memory != nil || disk != nil else {
            throw VMCtlError.invalid("nothing to resize: give a CPU count, a memory size, a disk size or a flavor")
        }
        var changes: [ResizeChange] = []
        if let cpus, cpus != state.cpus {
            try VMSizeLimits.check(cpus: cpus)
            changes.append(ResizeChange(resource: "cpus", from: String(state.cpus), to: String(cpus), value: UInt64(cpus),
                                        effect: effect(running: state.isRunning, withinCeiling: cpus <= state.maxCPUs)))
        }
        if let memory, memory != state.memory {
            try VMSizeLimits.check(memory: memory)
            changes.append(ResizeChange("memory", from: state.memory, to: memory,
                                        effect: effect(running: state.isRunning, withinCeiling: memory <= state.maxMemory)))
        }
        if let disk, disk != state.disk {
            guard disk > state.disk else {
                throw VMCtlError.invalid("cannot shrink the disk from \(state.disk) to \(disk): shrinking would cut off the guest's data")
            }
            try VMSizeLimits.check(disk: disk)
            changes.append(ResizeChange("disk", from: state.disk, to: disk,
                                        effect: state.isRunning ? .live : .offline))
        }
        return changes
    }

    private static func effect(running: Bool, withinCeiling: Bool) -> ResizeChange.Effect {
        guard running else { return .offline }
        return withinCeiling ? .live : .restartNeeded
    }
}

extension VMs {
    /// Applies a resize plan. With `restart`, a running VM whose changes need it is powered off (ACPI) and booted again.
    public func resize(_ name: String, _ request: ResizeRequest, restart: Bool) throws -> [ResizeChange] {
        let domain = try domain(named: name)
        let document = try document(of: domain, inactive: true)
        guard let rootName = VMMetadata(domain: document)?.volumes["root"] else {
            throw VMCtlError.invalid("VM '\(name)' was not made by vmctl; resize it with virsh")
        }
        let root = try libvirt("cannot find \(name)'s disk") { try storage.pool().lookupVolume(name: rootName) }
        let isRunning = try domain.isActive
        let info = try domain.info()
        let state = ResizeState(
            isRunning: isRunning, cpus: isRunning ? info.vcpus : document.vcpus, maxCPUs: document.maxVcpus,
            memory: ByteSize(bytes: document.currentMemoryKiB << 10), maxMemory: ByteSize(bytes: document.maxMemoryKiB << 10),
            disk: ByteSize(bytes: try root.info().capacity))
        var changes = try ResizePlan.plan(request, state: state)
        if changes.contains(where: { $0.resource == "disk" }) { try requireNoLinkedClones(of: document, toward: "grow the disk of") }

        let both: ModificationFlags = isRunning ? [.live, .config] : [.config]
        for change in changes {
            switch (change.resource, change.effect) {
            case ("cpus", .live) where Int(change.value) < state.cpus:
                // Unplugging needs the guest to give the vCPU back, which a guest may not do in libvirt's
                // few seconds: then the definition carries the change to the next boot.
                let count = Int(change.value)
                try libvirt("cannot set \(name)'s vCPUs to \(count)") { try domain.setVcpus(count, [.config]) }
                if (try? domain.setVcpus(count, [.live])) == nil {
                    changes[changes.firstIndex(of: change)!].effect = .restartNeeded
                }
            case ("cpus", .live), ("cpus", .offline):
                let count = Int(change.value)
                if count > document.maxVcpus { try libvirt("cannot raise \(name)'s vCPU ceiling") { try domain.setVcpus(count, [.config, .maximum]) } }
                try libvirt("cannot set \(name)'s vCPUs to \(count)") { try domain.setVcpus(count, both) }
            case ("cpus", .restartNeeded):
                let count = Int(change.value)
                try libvirt("cannot raise \(name)'s vCPU ceiling") { try domain.setVcpus(count, [.config, .maximum]) }
                try libvirt("cannot set \(name)'s vCPUs to \(count)") { try domain.setVcpus(count, [.config]) }
            case ("memory", .live), ("memory", .offline):
                let size = ByteSize(bytes: change.value)
                if size.kibibytes > document.maxMemoryKiB { try domain.setMaximumMemory(kibibytes: size.kibibytes) }
                try libvirt("cannot set \(name)'s memory to \(size)") { try domain.setMemory(kibibytes: size.kibibytes, both) }
            case ("memory", .restartNeeded):
                let size = ByteSize(bytes: change.value)
                try libvirt("cannot raise \(name)'s memory ceiling") { try domain.setMaximumMemory(kibibytes: size.kibibytes) }
                try libvirt("cannot set \(name)'s memory to \(size)") { try domain.setMemory(kibibytes: size.kibibytes, [.config]) }
            case ("disk", .live):
                try libvirt("cannot grow \(name)'s disk") { try domain.blockResize(disk: "vda", bytes: change.value) }
            case ("disk", _):
                try libvirt("cannot grow \(name)'s disk") { try root.resize(capacity: change.value) }
            default:
                break
            }
        }
        if request.flavor != nil || request.cpus != nil || request.memory != nil {
            try updateMetadata(of: name) { $0.flavor = request.cpus == nil && request.memory == nil ? request.flavor : nil }
        }
        if restart, isRunning, changes.contains(where: { $0.effect == .restartNeeded }) {
            try stop(name, force: false, timeout: 60)
            try start(name)
            for index in changes.indices where changes[index].effect == .restartNeeded { changes[index].effect = .live }
        }
        return changes
    }
}

import Foundation
import LibvirtXML

/// How vmctl will take a snapshot: decided from the domain and the options alone, before anything changes.
///
/// Rules (libvirt 9.0, QEMU 7.2):
/// - running or paused VM: an **internal** snapshot with the guest's RAM (QEMU `savevm` into the qcow2 disks);
/// - stopped VM: an **internal** snapshot of the disks (`qemu-img snapshot`), `--disk-only` or not;
/// - running VM with `--disk-only`: an **external** snapshot, since QEMU cannot take an internal one
///   without RAM; each writable disk continues in a new qcow2 overlay beside it. libvirt before 9.9 cannot
///   revert such a snapshot, so the plan says so.
/// - read-only disks (vmctl's NoCloud seed) and removable media are left out (`snapshot='no'`), explicitly.
/// - refused: a writable disk that is not qcow2 (internal), a writable disk with no file to put an overlay
///   beside (external), a shared writable disk, UEFI firmware with pflash NVRAM, a VM with no writable disk.
public struct SnapshotPlan: Sendable, Equatable {
    public struct Exclusion: Sendable, Equatable, Codable {
        public let disk: String
        public let reason: String
    }

    public var kind: SnapshotInfo.Kind
    public var includesMemory: Bool
    /// Create with libvirt's DISK_ONLY flag (external snapshots of a running VM).
    public var diskOnlyFlag: Bool
    /// The document to hand libvirt.
    public var document: SnapshotDocument
    /// Disks whose state the snapshot keeps.
    public var included: [String]
    public var excluded: [Exclusion]
    /// External snapshots: the overlay each included disk continues in, by disk target.
    public var overlays: [String: String]

    /// libvirt's first release that reverts external snapshots.
    public static let externalRevertVersion = (major: 9, minor: 9)

    public static func make(
        subject: SnapshotSubject, name: String, description: String? = nil, diskOnly: Bool = false,
        existing: [String: SnapshotInfo.Kind] = [:], volumeDirectories: [String: String] = [:]
    ) throws -> SnapshotPlan {
        try ResourceName.validate(name, kind: "snapshot")
        let vm = subject.name
        if existing[name] != nil { throw VMCtlError(.alreadyExists, "snapshot '\(name)' of VM '\(vm)' already exists") }
        if let firmware = subject.pflashFirmware {
            throw VMCtlError.invalid(
                "cannot snapshot VM '\(vm)': it boots UEFI firmware with pflash NVRAM (\(firmware)), which libvirt "
                    + "leaves out of snapshots; vmctl refuses rather than keep the disks without the firmware's variables")
        }
        let kind: SnapshotInfo.Kind = subject.isActive && diskOnly ? .external : .internal
        let includesMemory = subject.isActive && !diskOnly
        // libvirt 9.0 can delete neither an internal snapshot once the disk moved on to an external overlay,
        // nor an external snapshot whose parent is internal: vmctl keeps a VM's snapshots of one kind.
        let others = existing.filter { $0.value != kind }.keys.sorted()
        if !others.isEmpty {
            let list = others.map { "'\($0)'" }.joined(separator: ", ")
            switch kind {
            case .external:
                throw VMCtlError.conflict(
                    "cannot take a disk-only snapshot of running VM '\(vm)': it would be external, and the VM has "
                        + "internal snapshots (\(list)) that libvirt could then no longer delete",
                    advice: "take it with its RAM, or stop the VM first", hint: .withoutDiskOnly)
            case .internal:
                throw VMCtlError.conflict(
                    "cannot take an internal snapshot of VM '\(vm)': it has external snapshots (\(list)) and libvirt "
                        + "cannot delete a mix of both",
                    advice: "take a disk-only one of the running VM, or delete them first", hint: .diskOnly)
            }
        }

        var disks: [SnapshotDocument.Disk] = []
        var included: [String] = []
        var excluded: [Exclusion] = []
        var overlays: [String: String] = [:]
        for disk in subject.disks {
            if disk.device == "cdrom" || disk.device == "floppy" {
                excluded.append(.init(disk: disk.target, reason: "removable media"))
                disks.append(.init(name: disk.target, snapshot: .no))
                continue
            }
            if disk.isReadOnly {
                excluded.append(.init(disk: disk.target, reason: "read-only"))
                disks.append(.init(name: disk.target, snapshot: .no))
                continue
            }
            if disk.isShareable {
                throw VMCtlError.invalid("cannot snapshot VM '\(vm)': disk '\(disk.target)' is shared with other VMs and writable")
            }
            switch kind {
            case .internal:
                guard disk.format == "qcow2" else {
                    throw VMCtlError.invalid(
                        "cannot snapshot VM '\(vm)': disk '\(disk.target)' is \(disk.format) and writable; internal "
                            + "snapshots need qcow2 (convert it, or make it read-only)")
                }
                disks.append(.init(name: disk.target, snapshot: .internal))
            case .external:
                guard let overlay = overlayPath(for: disk, snapshot: name, volumeDirectories: volumeDirectories) else {
                    throw VMCtlError.invalid(
                        "cannot snapshot VM '\(vm)': disk '\(disk.target)' (\(disk.sourceDescription)) has no file "
                            + "to put an external snapshot's overlay beside")
                }
                overlays[disk.target] = overlay
                disks.append(.init(name: disk.target, snapshot: .external, sourceFile: overlay, format: "qcow2"))
            }
            included.append(disk.target)
        }
        guard !included.isEmpty else {
            throw VMCtlError.invalid("cannot snapshot VM '\(vm)': it has no writable disk to snapshot")
        }
        let document = SnapshotDocument(
            name: name, description: description, memory: includesMemory ? .internal : .no, disks: disks)
        return SnapshotPlan(kind: kind, includesMemory: includesMemory, diskOnlyFlag: kind == .external,
                            document: document, included: included, excluded: excluded, overlays: overlays)
    }

    /// `<dir>/<stem>.<snapshot>.qcow2` beside the disk's current file, where `stem` is the file name up to its
    /// first dot (`vm-web-root.qcow2` → `vm-web-root.before.qcow2`, also when the disk is already an overlay).
    static func overlayPath(for disk: SnapshotSubject.Disk, snapshot: String, volumeDirectories: [String: String]) -> String? {
        let directory: String
        let file: String
        switch disk.source {
        case .file(let path):
            guard let slash = path.lastIndex(of: "/") else { return nil }
            directory = String(path[..<slash])
            file = String(path[path.index(after: slash)...])
        case .volume(let pool, let volume):
            guard let poolDirectory = volumeDirectories[pool] else { return nil }
            directory = poolDirectory.hasSuffix("/") ? String(poolDirectory.dropLast()) : poolDirectory
            file = volume
        case .other:
            return nil
        }
        let stem = file.split(separator: ".", maxSplits: 1).first.map(String.init) ?? file
        guard !stem.isEmpty else { return nil }
        return "\(directory)/\(stem).\(snapshot).qcow2"
    }

    /// Why deleting these snapshots (one, or one and its descendants) would fail part way, or nil.
    ///
    /// libvirt 9.0 deletes an internal snapshot only from the image the VM's disk uses now (not after an
    /// external snapshot moved the disk on to an overlay), and cannot delete a mix of internal and external
    /// snapshots in one go. Checked before anything is deleted, so a refused delete changes nothing.
    /// - Parameters:
    ///   - targets: each snapshot with libvirt's XML for it (which holds the domain as it was then).
    ///   - domain: the VM as it is now.
    ///   - all: every snapshot of the VM (for the targets' parents).
    public static func deleteRefusal(
        vm: String, targets: [(info: SnapshotInfo, xml: String)], all: [SnapshotInfo], domain: SnapshotSubject
    ) -> String? {
        let kinds = Set(targets.map(\.info.kind))
        if kinds.count > 1, let top = targets.first?.info.name {
            return "cannot delete snapshot '\(top)' of VM '\(vm)' with its children: they mix internal and external "
                + "snapshots, which libvirt cannot delete together; delete them one at a time"
        }
        let kindByName = Dictionary(all.map { ($0.name, $0.kind) }, uniquingKeysWith: { first, _ in first })
        for (info, _) in targets where info.kind == .external {
            if let parent = info.parent, kindByName[parent] == .internal {
                return "cannot delete snapshot '\(info.name)' of VM '\(vm)': it is external and its parent '\(parent)' "
                    + "is internal, which libvirt cannot delete"
            }
        }
        for (info, xml) in targets where info.kind == .internal {
            // A snapshot that recorded no definition has nothing to compare; one that cannot be read might
            // be kept where the disk no longer is.
            let subjectThen: SnapshotSubject
            do {
                guard let then = try XMLReader.parse(xml).first("domain") else { continue }
                subjectThen = try SnapshotSubject(domain: then, isActive: false)
            } catch {
                return "cannot delete snapshot '\(info.name)' of VM '\(vm)': its definition cannot be read (\(error))"
            }
            for name in info.disks {
                guard let before = subjectThen.disks.first(where: { $0.target == name }),
                      let now = domain.disks.first(where: { $0.target == name }) else { continue }
                if before.source != now.source {
                    return "cannot delete snapshot '\(info.name)' of VM '\(vm)': it is kept inside \(before.sourceDescription), "
                        + "but disk '\(name)' now uses \(now.sourceDescription) (an external snapshot moved it on); "
                        + "libvirt deletes internal snapshots only from the image in use (revert to it first)"
                }
            }
        }
        return nil
    }

    /// Why this snapshot cannot be reverted with this libvirt, or nil when it can.
    public static func revertRefusal(
        of snapshot: SnapshotInfo, libraryVersion: (major: Int, minor: Int, release: Int)
    ) -> String? {
        guard snapshot.kind == .external else { return nil }
        let (major, minor) = externalRevertVersion
        if libraryVersion.major > major || (libraryVersion.major == major && libraryVersion.minor >= minor) { return nil }
        return "cannot revert VM '\(snapshot.vm)' to snapshot '\(snapshot.name)': it is an external snapshot, and "
            + "libvirt \(libraryVersion.major).\(libraryVersion.minor).\(libraryVersion.release) cannot revert external "
            + "snapshots (libvirt \(major).\(minor) can)"
    }
}

extension SnapshotSubject.Disk {
    var sourceDescription: String {
        switch source {
        case .file(let path): "file \(path)"
        case .volume(let pool, let volume): "volume \(pool)/\(volume)"
        case .other(let what): what
        }
    }
}

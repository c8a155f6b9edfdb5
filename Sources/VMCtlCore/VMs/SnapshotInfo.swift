import Foundation
import Libvirt
import LibvirtXML

/// One snapshot of a VM, as `vmctl snapshot list` and `create --json` report it.
public struct SnapshotInfo: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// Kept inside the VM's qcow2 disks (QEMU `savevm` / `qemu-img snapshot`).
        case `internal`
        /// The disks continue in new overlay files; the snapshot is the files they were before.
        case external
    }

    public let vm: String
    public let name: String
    public let description: String?
    public let kind: Kind
    /// The guest's RAM is part of it: reverting resumes the guest where it was.
    public let includesMemory: Bool
    /// The VM's state when the snapshot was taken (`running`, `shutoff`, …).
    public let state: String
    public let parent: String?
    /// ISO 8601, UTC.
    public let created: String?
    /// The snapshot the VM's disks currently continue from.
    public let current: Bool
    /// Disks whose state the snapshot keeps, and disks left out of it.
    public let disks: [String]
    public let excludedDisks: [String]
    /// False when this host's libvirt cannot revert it (external snapshots before libvirt 9.9).
    public let revertible: Bool

    public init(vm: String, name: String, description: String?, kind: Kind, includesMemory: Bool, state: String,
                parent: String?, created: String?, current: Bool, disks: [String], excludedDisks: [String],
                revertible: Bool) {
        self.vm = vm
        self.name = name
        self.description = description
        self.kind = kind
        self.includesMemory = includesMemory
        self.state = state
        self.parent = parent
        self.created = created
        self.current = current
        self.disks = disks
        self.excludedDisks = excludedDisks
        self.revertible = revertible
    }

    /// Reads libvirt's description of a snapshot.
    public init(vm: String, document: SnapshotDocument, current: Bool,
                libraryVersion: (major: Int, minor: Int, release: Int)) {
        let external = document.memory == .external || document.disks.contains { $0.snapshot == .external }
        let state = document.state ?? "unknown"
        let includesMemory = switch document.memory {
        case .internal?, .external?: true
        case .no?: false
        case nil: state == "running" || state == "paused"
        }
        let created = document.creationTime.map(Self.iso8601)
        self.init(
            vm: vm, name: document.name, description: document.description, kind: external ? .external : .internal,
            includesMemory: includesMemory, state: state, parent: document.parent, created: created, current: current,
            disks: document.disks.filter { $0.snapshot == .internal || $0.snapshot == .external }.map(\.name),
            excludedDisks: document.disks.filter { $0.snapshot == .no }.map(\.name), revertible: true)
        if SnapshotPlan.revertRefusal(of: self, libraryVersion: libraryVersion) != nil {
            self = self.with(revertible: false)
        }
    }

    func with(revertible: Bool? = nil, current: Bool? = nil) -> SnapshotInfo {
        SnapshotInfo(vm: vm, name: name, description: description, kind: kind, includesMemory: includesMemory,
                     state: state, parent: parent, created: created, current: current ?? self.current, disks: disks,
                     excludedDisks: excludedDisks, revertible: revertible ?? self.revertible)
    }

    /// `2026-11-23T05:19:48Z` from seconds since 1970, by arithmetic: a date formatter would load ICU's
    /// data, which costs a short command several milliseconds.
    static func iso8601(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
    }

    /// Snapshots in tree order: each parent before its children, siblings oldest first, with their depth.
    /// A snapshot whose parent is not in the list counts as a root.
    public static func tree(_ snapshots: [SnapshotInfo]) -> [(depth: Int, snapshot: SnapshotInfo)] {
        let names = Set(snapshots.map(\.name))
        let byParent = Dictionary(grouping: snapshots) { snapshot in
            snapshot.parent.flatMap { names.contains($0) ? $0 : nil } ?? ""
        }
        func ordered(_ list: [SnapshotInfo]) -> [SnapshotInfo] {
            list.sorted { ($0.created ?? "", $0.name) < ($1.created ?? "", $1.name) }
        }
        var result: [(depth: Int, snapshot: SnapshotInfo)] = []
        var visited: Set<String> = []
        func visit(_ snapshot: SnapshotInfo, depth: Int) {
            guard visited.insert(snapshot.name).inserted else { return }
            result.append((depth, snapshot))
            for child in ordered(byParent[snapshot.name] ?? []) { visit(child, depth: depth + 1) }
        }
        for root in ordered(byParent[""] ?? []) { visit(root, depth: 0) }
        // A parent cycle cannot come from libvirt, but would otherwise hide snapshots.
        for snapshot in ordered(snapshots) where !visited.contains(snapshot.name) { visit(snapshot, depth: 0) }
        return result
    }
}

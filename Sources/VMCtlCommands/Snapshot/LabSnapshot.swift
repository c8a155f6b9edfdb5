import ArgumentParser
import Foundation
import VMCtlCore

/// `snapshot create|revert|delete --lab PATH NAME`: the same snapshot on every VM a lab owns.
enum LabSnapshot {
    /// With --lab the one name given is the snapshot's; without, two names: the VM's and the snapshot's.
    static func name(vm: String, snapshot: String?, lab: [String]) throws -> String {
        if !lab.isEmpty {
            guard snapshot == nil else { throw ValidationError("with --lab, give only the snapshot's name") }
            return vm
        }
        guard let snapshot else { throw ValidationError("give the VM's name and the snapshot's name (or --lab PATH NAME)") }
        return snapshot
    }

    static func run(_ operation: Labs.SnapshotOperation, name: String, paths: [String], connection: ConnectionOptions) throws {
        let lab = try LabLoader.load(paths: paths, defaultURI: connection.resolvedURI())
        let sessions = try Labs.sessions(for: lab) { try Session(uri: $0) }
        let result = try Labs.snapshot(lab, sessions: sessions, operation: operation, name: name, notice: { Output.notice($0) })
        for line in result.done { Output.line(line) }
        guard !result.failures.isEmpty else { return }
        for failure in result.failures {
            FileHandle.standardError.write(Data("  \(failure.subject): \(failure.message)\n".utf8))
        }
        throw VMCtlError.failed("snapshot \(operation.rawValue) '\(name)' failed on \(result.failures.count) of "
                         + "\(result.failures.count + result.done.count) VMs of lab '\(lab.name)'")
    }
}

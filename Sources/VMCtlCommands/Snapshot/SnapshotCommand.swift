import ArgumentParser
import VMCtlCore

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Take, list, revert to and delete VM snapshots.",
        subcommands: [SnapshotCreate.self, SnapshotList.self, SnapshotRevert.self, SnapshotDelete.self])
}


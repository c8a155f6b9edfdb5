import ArgumentParser
import VMCtlCore

struct SnapshotList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List a VM's snapshots; --tree shows children under their parents.")

    @OptionGroup var vm: VMName
    @Flag(help: "Show children indented under their parents, the current snapshot marked '*'.") var tree = false
    @OptionGroup var output: OutputOptions
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let snapshots = try Snapshots(session: connection.session()).list(vm: vm.name)
        if output.json { return try Output.json(snapshots) }
        if tree {
            for (depth, snapshot) in SnapshotInfo.tree(snapshots) {
                let indent = String(repeating: "  ", count: depth)
                let marker = snapshot.current ? "  * current" : ""
                Output.line("\(indent)\(snapshot.name)  (\(snapshot.kind.rawValue), \(SnapshotText.contents(snapshot)), "
                            + "\(snapshot.state))\(marker)")
            }
            return
        }
        Output.table(header: ["NAME", "KIND", "CONTENTS", "STATE", "PARENT", "CREATED", "CURRENT", "DESCRIPTION"],
                     rows: snapshots.map {
            [$0.name, $0.kind.rawValue, SnapshotText.contents($0), $0.state, $0.parent ?? "-", $0.created ?? "-",
             $0.current ? "*" : "", $0.description.map(Self.oneLine) ?? ""]
        })
    }

    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline || $0 == "\t" ? " " : $0 })
    }
}

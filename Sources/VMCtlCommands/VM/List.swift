import ArgumentParser
import VMCtlCore

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List VMs with their state and addresses.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let manager = VMs(session: try connection.session())
        let instances = try manager.list()
        let leftovers = try manager.leftovers()
        for name in Set(leftovers.filter { $0.origin == .create }.map(\.owner)).sorted() {
            let volumes = leftovers.filter { $0.origin == .create && $0.owner == name }.map(\.volume)
            Output.notice("\(volumes.joined(separator: ", ")) belong to no VM (an interrupted create or clone of '\(name)'); 'vmctl delete \(name)' removes them")
        }
        for leftover in leftovers where leftover.origin == .export {
            Output.notice("\(leftover.volume) is left over from an interrupted export of '\(leftover.owner)'; the next 'vmctl export \(leftover.owner)' or 'vmctl delete \(leftover.owner)' removes it")
        }
        if output.json { return try Output.json(instances) }
        Output.table(header: ["NAME", "STATE", "CPUS", "MEMORY", "IMAGE", "ADDRESS"], rows: instances.map {
            [$0.name, $0.state, String($0.cpus), $0.memory, $0.image ?? "-", $0.addresses.first ?? "-"]
        })
    }
}

import ArgumentParser
import VMCtlCore

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List VMs with their state and addresses.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let manager = Instances(session: try connection.session())
        let instances = try manager.list()
        for (name, volumes) in try manager.leftovers().sorted(by: { $0.key < $1.key }) {
            Output.notice("\(volumes.joined(separator: ", ")) belong to no VM (an interrupted create or clone of '\(name)'); 'vmctl delete \(name)' removes them")
        }
        if output.json { return try Output.json(instances) }
        Output.table(header: ["NAME", "STATE", "CPUS", "MEMORY", "IMAGE", "ADDRESS"], rows: instances.map {
            [$0.name, $0.state, String($0.cpus), $0.memory, $0.image ?? "-", $0.addresses.first ?? "-"]
        })
    }
}

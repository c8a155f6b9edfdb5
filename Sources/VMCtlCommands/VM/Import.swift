import ArgumentParser
import VMCtlCore

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a VM from an archive made by 'vmctl export', with a fresh identity.",
        discussion: "The VM gets a new instance-id, MAC address and UUID; files on its disk are kept. "
            + "Every member's checksum is verified; on a mismatch nothing is left behind.")

    @Argument(help: "The archive to read.") var file: String
    @Option(help: "Name of the new VM (default: the exported VM's name).") var name: String?
    @Option(help: "Network to attach to (default: the exported VM's network).") var network: String?
    @Flag(help: "Boot the VM once imported.") var start = false
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let name { try ResourceName.validate(name, kind: "VM") }
        if let network { try ResourceName.validate(network, kind: "network") }
    }

    func run() throws {
        let summary = try VMExport(session: connection.session(), notice: Output.notice)
            .importArchive(file: try LocalFilePath(file, what: "archive file"), name: name, network: network, start: start, progress: { Progress(label: $0) })
        if output.json { return try Output.json(summary) }
        Output.line("imported \(summary.name) from \(file) (\(summary.cpus) vCPU, \(summary.memory), network \(summary.network ?? "?"))\(start ? ", started" : "")")
    }
}

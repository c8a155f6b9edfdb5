import ArgumentParser
import VMCtlCore

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a stopped VM to one archive file (its settings and flattened disk) for 'vmctl import'.",
        discussion: "The archive is a tar file holding vmctl.json, disk-root.qcow2 and SHA256SUMS; "
            + "'tar xf' and 'sha256sum -c SHA256SUMS' read it without vmctl.")

    @OptionGroup var vm: VMName
    @Argument(help: "The archive to write (must not exist yet).") var file: String
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let result = try VMExport(session: connection.session(), notice: Output.notice)
            .export(vm.name, to: try LocalFilePath(file, what: "archive file"), progress: { Progress(label: $0) })
        if output.json { return try Output.json(result) }
        Output.line("exported \(result.vm) to \(result.file) (\(ByteSize(bytes: result.bytes)); disk \(ByteSize(bytes: result.diskVirtualSize)))")
    }
}

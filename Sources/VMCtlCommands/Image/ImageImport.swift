import ArgumentParser
import VMCtlCore

struct ImageImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Upload a qcow2 or raw disk image (e.g. a cloud image) into vmctl's pool.")

    @Argument(help: "The image file.") var file: String
    @Option(help: "Name of the image in vmctl.") var name: String
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws { try ResourceName.validate(name, kind: "image") }

    func run() throws {
        let storage = Storage(session: try connection.session())
        let image = try storage.importImage(file: try LocalFilePath(file, what: "image file"), name: name, progress: Progress(label: "uploading \(name)"))
        if output.json { return try Output.json(image) }
        Output.line("imported image \(image.name) (\(image.format), \(ByteSize(bytes: image.virtualSize)))")
    }
}

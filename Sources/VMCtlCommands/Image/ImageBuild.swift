import ArgumentParser
import Foundation
import VMCtlCore

struct ImageBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build vmctl's embedded tiny guest image from Debian packages and import it.")

    @Argument(help: "The image to build (only 'tiny' is built in).") var name: String = TinyImage.name
    @Option(help: "Also keep the built qcow2 file here.") var output: String?
    @Flag(help: "Replace the image in the pool if it is there and no VM uses it.") var force = false
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        guard name == TinyImage.name else {
            throw ValidationError("only the '\(TinyImage.name)' image can be built; import others with 'vmctl image import'")
        }
    }

    func run() throws {
        let session = try connection.session()
        let storage = Storage(session: session)
        if (try? storage.image(named: name)) != nil {
            guard force else { throw VMCtlError(.alreadyExists, "image '\(name)' already exists (use --force to rebuild it)") }
            try storage.deleteImage(named: name)
        }
        let file = try TinyImage.build(output: output ?? TinyImage.defaultOutput)
        let image = try storage.importImage(file: try LocalFilePath(file, what: "image file"), name: name)
        if outputOptions.json { return try Output.json(image) }
        Output.line("built image \(image.name) (\(image.format), \(ByteSize(bytes: image.allocation)) on disk)")
    }
}

import ArgumentParser
import VMCtlCore

struct ImageList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List images in vmctl's pool.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let images = try Storage(session: connection.session()).images()
        if output.json { return try Output.json(images) }
        Output.table(header: ["NAME", "FORMAT", "SIZE", "ON DISK"], rows: images.map {
            [$0.name, $0.format, ByteSize(bytes: $0.virtualSize).description, ByteSize(bytes: $0.allocation).description]
        })
    }
}

import ArgumentParser
import VMCtlCore

struct ImageDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete an image no VM is using.")

    @Argument(help: "The image's name.") var name: String
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { try ResourceName.validate(name, kind: "image") }

    func run() throws {
        try Storage(session: connection.session()).deleteImage(named: name)
        Output.line("deleted image \(name)")
    }
}

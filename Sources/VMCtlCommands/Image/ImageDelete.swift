import ArgumentParser
import VMCtlCore

struct ImageDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete an image no VM is using.")

    @Argument(help: "The image's name.") var name: String
    @OptionGroup var connection: ConnectionOptions

    func validate() throws { try ResourceName.validate(name, kind: "image") }

    func run() throws {
        let session = try connection.session()
        let users = try Instances(session: session).users(ofImage: name)
        try Storage(session: session).deleteImage(named: name, usedBy: users)
        Output.line("deleted image \(name)")
    }
}

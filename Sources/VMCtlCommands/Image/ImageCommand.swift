import ArgumentParser

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Manage the disk images VMs are created from.",
        subcommands: [ImageList.self, ImageImport.self, ImageDelete.self, ImageBuild.self, ImageCreate.self])
}

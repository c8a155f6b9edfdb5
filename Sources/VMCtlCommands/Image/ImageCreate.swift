import ArgumentParser
import VMCtlCore

struct ImageCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Make a standalone image from a stopped VM's disk (like docker commit).",
        discussion: "The image holds everything on the VM's root disk, flattened: new VMs made with "
            + "'vmctl create NAME --image IMAGE' start with the VM's files. The VM must be stopped.")

    @Option(name: .customLong("from"), help: ArgumentHelp("The stopped VM to copy.", valueName: "vm")) var vm: String
    @Argument(help: "The new image's name.") var name: String
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try ResourceName.validate(vm, kind: "VM")
        try ResourceName.validate(name, kind: "image")
    }

    func run() throws {
        let session = try connection.session()
        let image = try ImageFromVM(session: session)
            .create(from: vm, name: name, progress: Progress(label: "copying \(vm)"))
        if output.json { return try Output.json(image) }
        Output.line("created image \(image.name) from \(vm) (\(image.format), \(ByteSize(bytes: image.virtualSize)), \(ByteSize(bytes: image.allocation)) on disk)")
    }
}

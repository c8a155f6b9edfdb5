import ArgumentParser
import VMCtlCore

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a VM with a copy-on-write disk on an image, on a NAT network.",
        discussion: "Flavors (vCPUs/RAM/disk): " + VMCtlCore.Flavor.all
            .map { "\($0.name) \($0.cpus)/\($0.memory)/\($0.disk)" }.joined(separator: ", "))

    @Argument(help: "The new VM's name (also its hostname).") var name: String
    @Option(help: "Image to boot.") var image: String = VMSpec.defaultImage
    @Option(help: "Size preset; --cpus/--memory/--disk override it.") var flavor: String?
    @Option(help: "Number of vCPUs.") var cpus: Int?
    @Option(help: "Memory, e.g. 512M or 2G.") var memory: String?
    @Option(help: "Disk size, e.g. 2G (at least the image's size).") var disk: String?
    @Option(help: "Network to attach to.") var network: String = VMCtlNames.defaultNetwork
    @Option(name: .customLong("ssh-key"), help: "Authorize the public keys in this file (repeatable).")
    var sshKeyFiles: [String] = []
    @Option(name: .customLong("run"), help: "A command the guest runs on first boot (repeatable).")
    var runCommands: [String] = []
    @Option(help: "Accelerator: auto, kvm or tcg.") var accel: AcceleratorPreference = .auto
    @Flag(help: "Boot the VM once created.") var start = false
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func spec() throws -> VMSpec {
        let memory = try memory.map { try ByteSize(parsing: $0) }
        let disk = try disk.map { try ByteSize(parsing: $0) }
        if let memory, memory.bytes == 0 { throw VMCtlError.invalid("invalid memory '\(self.memory ?? "")': must be more than 0") }
        if let disk, disk.bytes == 0 { throw VMCtlError.invalid("invalid disk '\(self.disk ?? "")': must be more than 0") }
        if let command = runCommands.first(where: { $0.contains(where: \.isNewline) }) {
            throw VMCtlError.invalid("invalid --run '\(command.prefix(30))…': one line per command")
        }
        let keys = try sshKeyFiles.flatMap { try SSHKey.read(file: try LocalFilePath($0, what: "SSH key file")) }
        let spec = try VMSpec(
            name: name, image: image, flavor: flavor, cpus: cpus, memory: memory, disk: disk,
            network: network, sshAuthorizedKeys: keys, accel: accel, runCommands: runCommands)
        try spec.validate()
        return spec
    }

    func validate() throws { _ = try spec() }

    func run() throws {
        let session = try connection.session()
        let instances = VMs(session: session, notice: Output.notice)
        let storage = Storage(session: session)
        let summary = try naming(.accelerator, { $0.prefixed("--accel \(accel.rawValue)") }) {
            try instances.create(try spec(), start: start) { imageName in
                if imageName == TinyImage.name { return try TinyImage.ensure(in: storage, notice: Output.notice) }
                return try storage.image(named: imageName).info
            }
        }
        if output.json { return try Output.json(summary) }
        Output.line("created \(summary.name) (\(summary.cpus) vCPU, \(summary.memory), image \(summary.image ?? "?"), network \(summary.network ?? "?"))\(start ? ", started" : "")")
    }
}

extension AcceleratorPreference: ExpressibleByArgument {}

import ArgumentParser

struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "VirtualBox-style port forwarding from the host to a VM.",
        subcommands: [ForwardAdd.self, ForwardList.self, ForwardRemove.self])
}

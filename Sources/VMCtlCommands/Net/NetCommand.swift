import ArgumentParser

struct NetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "net",
        abstract: "Manage networks: NAT, routed or isolated, each with fast DHCP.",
        subcommands: [NetCreate.self, NetList.self, NetInfo.self, NetDelete.self, NetStart.self, NetStop.self, NetReconcile.self])
}

/// Arguments naming an existing network.
struct NetworkName: ParsableArguments {
    @Argument(help: "The network's name.") var name: String
}

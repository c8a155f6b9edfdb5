import ArgumentParser

struct FloatingIPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fip",
        abstract: "OpenStack-style floating IPs: host addresses that stand for VMs 1:1.",
        subcommands: [FloatingIPPoolCommand.self, FloatingIPAllocate.self, FloatingIPAssociate.self,
                      FloatingIPDisassociate.self, FloatingIPRelease.self, FloatingIPList.self])
}

struct FloatingIPPoolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool", abstract: "Pools of floating addresses on a host interface.",
        subcommands: [FloatingIPPoolCreate.self, FloatingIPPoolList.self, FloatingIPPoolDelete.self])
}

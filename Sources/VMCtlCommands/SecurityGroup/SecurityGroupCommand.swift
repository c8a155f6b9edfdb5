import ArgumentParser
import VMCtlCore

struct SecurityGroupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secgroup",
        abstract: "OpenStack-style security groups: stateful ingress rules for VMs reached from outside.",
        subcommands: [SecurityGroupCreate.self, SecurityGroupList.self, SecurityGroupDelete.self, SecurityGroupRuleCommand.self,
                      SecurityGroupAttach.self, SecurityGroupDetach.self])
}

struct SecurityGroupRuleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rule", abstract: "Rules of a security group.",
        subcommands: [SecurityGroupRuleAdd.self, SecurityGroupRuleList.self, SecurityGroupRuleRemove.self])
}

extension SecurityGroup.RuleProtocol: ExpressibleByArgument {}

import ArgumentParser
import Foundation
import VMCtlCore

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each VM of a lab: state, address, forwards, floating IP and whether it is ready.",
        discussion: "Exit status 0 when every VM is there and ready, 1 otherwise.")

    @OptionGroup var files: LabFiles
    @OptionGroup var output: OutputOptions

    func run() throws {
        let lab = try files.load()
        let status = try Labs.status(lab, sessions: files.sessions(for: lab))
        if output.json {
            try Output.json(status)
        } else {
            let many = lab.uris.count > 1
            Output.table(
                header: ["NAME", "STATE", "ADDRESS", "FLOATING IP", "FORWARDS", "READY"] + (many ? ["URI"] : []),
                rows: status.members.map { member in
                    [member.name, member.state, member.address ?? "-", member.floatingIP ?? "-",
                     member.forwards.isEmpty ? "-" : member.forwards.joined(separator: ", "),
                     member.ready ? "yes (\(member.readiness.joined(separator: ", ")))" : "no: \(member.problem ?? "?")"]
                        + (many ? [member.uri] : [])
                })
            for object in status.objects where !object.present { Output.line("missing: \(object.kind) \(object.name)") }
            for item in status.leftOver { Output.line("left over (the next apply deletes it): \(item)") }
        }
        let healthy = status.members.allSatisfy(\.ready) && status.objects.allSatisfy(\.present)
        if !healthy { throw ExitCode.failure }
    }
}

import ArgumentParser
import Foundation
import VMCtlCore

struct Destroy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete everything a lab created: its VMs and their disks, routers, groups, pools, then its networks.",
        discussion: "Only objects recorded as the lab's are deleted, whatever its files say now; nothing else is touched.")

    @OptionGroup var files: LabFiles

    func run() throws {
        let lab = try files.load()
        let sessions = try files.sessions(for: lab)
        let view = LabProgressView()
        let result = try Labs.destroy(
            lab, sessions: sessions, options: LabApplyOptions(), notice: Output.notice,
            planned: { plan in
                if plan.actions.isEmpty { Output.notice("lab '\(lab.name)' has nothing on \(lab.uris.joined(separator: ", "))") }
            },
            report: { view.handle($0) })
        try LabOutcome.finish(result, verb: "destroy")
    }
}

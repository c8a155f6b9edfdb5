import ArgumentParser
import Foundation
import VMCtlCore

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what apply would change to make the host match a lab's files.",
        discussion: """
            Each object is marked + create, ~ update in place, -/+ replace (made again), - delete (the lab made it \
            and its files no longer have it) or = unchanged. Exit status: 0 when nothing would change, 2 when \
            changes are pending, 1 on an error in the files or a conflict on the host.
            """)

    @OptionGroup var files: LabFiles
    @Flag(help: "List unchanged objects too.") var all = false
    @Flag(help: "Print how long reading the host took and how many libvirt calls it made (to stderr).") var stats = false
    @OptionGroup var output: OutputOptions

    func run() throws {
        let clock = ContinuousClock()
        let start = clock.now
        let lab = try files.load()
        let sessions = try files.sessions(for: lab)
        let connected = clock.now
        let (plan, observed) = try Labs.plan(lab, sessions: sessions)
        if stats {
            let calls = observed.values.map(\.calls).reduce(0, +)
            let objects = observed.values.map { $0.domains.count + $0.networks.count }.reduce(0, +)
            Output.notice("plan: \(lab.members.count) VMs, \(objects) domains and networks read with \(calls) libvirt calls in "
                          + "\(Seconds(clock.now - connected).milliseconds) ms (\(Seconds(clock.now - start).milliseconds) ms in all)")
        }
        if output.json {
            try Output.json(LabText.json(plan))
        } else {
            for line in LabText.lines(plan, showUnchanged: all, multipleHosts: lab.uris.count > 1) { Output.line(line) }
            Output.line(plan.summary)
        }
        if plan.pending > 0 { throw ExitCode(2) }
    }
}

import ArgumentParser
import Foundation
import VMCtlCore

struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the host match a lab's files: create, update, replace and delete what differs.",
        discussion: """
            Floating IP pools, security groups, networks and routers come first, then the domains, several at \
            once, each waited for until its readiness checks pass. Only objects the lab created (recorded in \
            their libvirt metadata) are ever changed or deleted. A member that fails does not stop the others; \
            every failure is listed at the end and the exit status is 1. Running apply again finishes the job. \
            Two applies of one lab never interleave: the second waits.
            """)

    @OptionGroup var files: LabFiles
    @Option(help: "How many VMs to create or wait for at once.") var parallel = 4
    @Option(help: ArgumentHelp("Seconds each VM may take to become ready.", valueName: "seconds")) var timeout = "180"

    func validate() throws {
        guard (1...64).contains(parallel) else { throw ValidationError("--parallel takes 1 to 64") }
        guard try seconds(timeout, for: "--timeout") > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        let lab = try files.load()
        let sessions = try files.sessions(for: lab)
        let view = LabProgressView()
        let result = try Labs.apply(
            lab, sessions: sessions, options: LabApplyOptions(parallel: parallel, timeout: try seconds(timeout, for: "--timeout")), notice: Output.notice,
            planned: { plan in
                for line in LabText.lines(plan, showUnchanged: false, multipleHosts: lab.uris.count > 1) { Output.line(line) }
                Output.line(plan.summary)
            },
            report: { view.handle($0) })
        try LabOutcome.finish(result, verb: "apply")
    }
}

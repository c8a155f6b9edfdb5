import ArgumentParser
import VMCtlCore

struct NetReconcile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Re-apply vmctl's firewall from its state and report what was out of place.",
        discussion: "The libvirt network hook installed by the bootstrap runs this whenever a network starts.")

    @Flag(help: "Print nothing when nothing needed fixing.") var quiet = false
    @Option(help: ArgumentHelp("Keep running: check every SECONDS and put the table back if someone removed or changed it.",
                               valueName: "seconds"))
    var watch: String?
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let watch, try seconds(watch, for: "--watch") < 0.2 { throw ValidationError("--watch takes at least 0.2 seconds") }
    }

    func run() throws {
        if let watch {
            Firewall.watch(uri: try connection.resolvedURI(), interval: try seconds(watch, for: "--watch")) { report in
                for warning in report.warnings { Output.notice("warning: \(warning)") }
                for fix in report.fixes { Output.line("fixed: \(fix)") }
            }
        }
        let report = try Firewall(session: connection.session()).reconcile()
        for warning in report.warnings { Output.notice("warning: \(warning)") }
        if output.json { return try Output.json(report) }
        if report.fixes.isEmpty {
            if !quiet { Output.line("firewall in place (\(report.rules) rules, \(report.elements) set elements): nothing to fix") }
            return
        }
        for fix in report.fixes { Output.line("fixed: \(fix)") }
        Output.line("firewall applied (\(report.rules) rules, \(report.elements) set elements)")
    }
}

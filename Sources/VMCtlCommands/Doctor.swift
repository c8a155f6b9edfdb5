import ArgumentParser
import VMCtlCore

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the host: libvirtd, QEMU, KVM or why not, storage, network, firewall.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let checks = VMCtlCore.Doctor.run(uri: try connection.resolvedURI())
        if output.json {
            try Output.json(checks)
        } else {
            let marks: [HealthCheck.Status: String] = [.ok: "ok", .warning: "warn", .failure: "FAIL"]
            Output.table(header: ["CHECK", "STATUS", "DETAIL"],
                         rows: checks.map { [$0.check, marks[$0.status] ?? "", $0.detail] })
        }
        if checks.contains(where: { $0.status == .failure }) { throw ExitCode(1) }
    }
}

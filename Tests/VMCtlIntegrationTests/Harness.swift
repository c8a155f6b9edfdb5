import Foundation
import VMCtlCore

/// Runs the real vmctl binary and host tools against the real libvirtd, as a user would.
enum Harness {
    static let enabled = ProcessInfo.processInfo.environment["VMCTL_INTEGRATION"] == "1"
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let vmctlPath = ProcessInfo.processInfo.environment["VMCTL_BIN"] ?? repositoryRoot + "/.build/debug/vmctl"
    static let uri = "qemu:///system"

    struct Result: CustomStringConvertible {
        let status: Int32
        let stdout: String
        let stderr: String
        var stderrLines: [Substring] { stderr.split(separator: "\n") }
        var trimmed: String { stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
        /// For expectation messages: what a user would see.
        var description: String { "exit \(status)\n\(stdout)\(stderr)" }

        /// The `--json` report on stdout; a failure names the command's exit status and its error line.
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            do {
                return try JSONDecoder().decode(type, from: Data(stdout.utf8))
            } catch {
                throw HarnessError("no \(type) in the output (exit \(status)): \(stderr.isEmpty ? stdout : stderr)")
            }
        }
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> Result {
        let finished = try ChildProcess([executable] + arguments).finish()
        let result = Result(status: finished.status, stdout: String(decoding: finished.output, as: UTF8.self),
                            stderr: String(decoding: finished.errorOutput, as: UTF8.self))
        if result.status != 0, let log = ProcessInfo.processInfo.environment["VMCTL_HARNESS_FAILURE_LOG"] {
            // Every failed command with what it said, for hunting a failure that only shows under full load.
            let line = "\(Date()) exit \(result.status): \(([executable] + arguments).joined(separator: " ")): \(result.stderr)"
            let fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            if fd >= 0 {
                let bytes = Array((line.hasSuffix("\n") ? line : line + "\n").utf8)
                _ = write(fd, bytes, bytes.count)
                close(fd)
            }
        }
        return result
    }

    /// Starts a command in the background with its output discarded; the caller stops or waits for it.
    static func start(_ argv: [String], stderr: ChildProcess.Output = .discard) throws -> ChildProcess {
        try ChildProcess(argv, stdout: .discard, stderr: stderr)
    }

    static func vmctl(_ arguments: String...) throws -> Result { try run(vmctlPath, arguments) }
    static func vmctl(_ arguments: [String]) throws -> Result { try run(vmctlPath, arguments) }
    static func virsh(_ arguments: String...) throws -> Result { try run("virsh", ["-c", uri] + arguments) }

    /// Fetches a guest page from the namespace libvirtd runs in, as vmctl's management group (NAT networks
    /// keep every other host process out, as VirtualBox's NAT does). Only addresses on vmctl's own network
    /// are ever contacted (the network rule: no packet to any host that is not ours).
    static func httpGet(_ address: String) throws -> Result {
        guard isOnVMCtlNetwork(address) else { throw HarnessError("refusing to contact \(address): not on vmctl's network") }
        return try run(repositoryRoot + "/scripts/hostns",
                       ["setpriv", "--regid", "vmctl", "--clear-groups", "curl", "-s", "-m", "5", "http://\(address)/"])
    }

    /// A command on the host (libvirtd's namespace) as an ordinary host process.
    static func host(_ arguments: String...) throws -> Result { try run(repositoryRoot + "/scripts/hostns", arguments) }

    /// A command on the neighbour host, joined to the host by the bootstrap's veth pair.
    static func outside(_ arguments: String...) throws -> Result { try run(repositoryRoot + "/scripts/outside", arguments) }

    /// Starts a command on the neighbour host in the background; the caller terminates it.
    static func startOutside(_ arguments: [String]) throws -> ChildProcess {
        try start([repositoryRoot + "/scripts/outside"] + arguments)
    }

    /// Stops a background helper started with `start` or `startOutside`.
    static func stop(_ process: ChildProcess) {
        process.signal(SIGTERM)
        process.wait()
    }

    /// Guest networks in these tests live in 10.0.0.0/8 inside libvirtd's namespace, whose only way out
    /// is the veth to the neighbour namespace, which routes nowhere.
    static func isOnVMCtlNetwork(_ address: String) -> Bool {
        guard let ip = IPv4Address(address), let tests = IPv4Subnet("10.0.0.0/8") else { return false }
        return tests.contains(ip)
    }

    static func domainExists(_ name: String) throws -> Bool { try virsh("dominfo", name).status == 0 }

    static func volumes(of name: String) throws -> [String] {
        try virsh("vol-list", "vmctl").stdout.split(separator: "\n")
            .compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { $0.hasPrefix("vm-\(name)-") }
    }

    /// Removes what an earlier, interrupted run may have left, so a test starts clean.
    static func removeIfPresent(_ name: String) throws {
        if try domainExists(name) { _ = try vmctl("delete", name) }
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

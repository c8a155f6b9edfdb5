import Foundation
import Testing
import VMCtlCore

/// Impossible numbers, closed pipes and a daemon vmctl cannot verify: one `Error:` line and a non-zero
/// exit, never a trap or a signal.
@Suite(.serialized, .enabled(if: Harness.enabled, "set VMCTL_INTEGRATION=1 (make test does) to use the real libvirtd"))
struct FaultTests {
    /// Durations and counts that once reached a Swift trap (Int(inf), suffix(-1)).
    @Test func impossibleNumbersAreOneErrorLine() throws {
        let name = "vms-num"
        try Harness.removeIfPresent(name)
        defer { _ = try? Harness.vmctl("delete", name) }
        #expect(try Harness.vmctl("create", name, "--start").status == 0)
        // The serial log exists once the guest has started writing to it.
        #expect(try Harness.vmctl("ip", name, "--wait", "120").status == 0)

        let cases: [([String], String)] = [
            (["ip", name, "--wait", "inf"], "--wait"),
            (["ip", name, "--wait", "nan"], "--wait"),
            // `--wait -1` reads as a missing value and an option -1 (an argument-syntax error, with usage):
            // a negative number is given with '='.
            (["ip", name, "--wait=-1"], "--wait"),
            (["ssh", name, "--wait", "inf", "--", "true"], "--wait"),
            (["stop", name, "--timeout", "inf"], "--timeout"),
            (["stop", name, "--timeout", "nan"], "--timeout"),
            (["console", name, "--tail=-2"], "--tail"),
            (["console", name, "--tail", "9223372036854775807"], "--tail"),
            (["apply", "--timeout", "inf", "/nonexistent/lab.yaml"], "--timeout"),
        ]
        for (arguments, word) in cases {
            let result = try Harness.vmctl(arguments)
            // ChildProcess reports a signal as 128 + its number: 132 (SIGILL), 133 (SIGTRAP) for a trap.
            #expect(result.status == 1, "\(arguments): \(result)")
            #expect(result.stderrLines.count == 1 && result.stderr.hasPrefix("Error: ") && result.stderr.contains(word),
                    "\(arguments): \(result)")
        }
        // Nothing was asked of the guest: it still runs.
        #expect(try Harness.virsh("domstate", name).trimmed == "running")
    }

    /// An archive whose manifest claims 2^64-1 bytes of memory is refused in one line; nothing is made.
    @Test func anImpossibleManifestIsOneErrorLine() throws {
        let name = "vms-mem"
        try Harness.removeIfPresent(name)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vms-mem-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A real qcow2 disk, an otherwise valid manifest, checksums that match: only the memory is wrong.
        #expect(try Harness.run("qemu-img", ["create", "-q", "-f", "qcow2", directory + "/disk-root.qcow2", "16M"]).status == 0)
        let diskSize = try FileManager.default.attributesOfItem(atPath: directory + "/disk-root.qcow2")[.size] as? Int ?? 0
        let manifest = """
            {"format": "vmctl-export", "version": 1, "exported": "2026-12-02T00:00:00Z",
             "vm": {"name": "\(name)", "image": "tiny", "cpus": 1, "memory": 18446744073709551615, "disk": "16M",
                    "network": "vmctl"},
             "disks": [{"role": "root", "file": "disk-root.qcow2", "format": "qcow2", "virtualSize": 16777216, "size": \(diskSize)}]}

            """
        try manifest.write(toFile: directory + "/vmctl.json", atomically: true, encoding: .utf8)
        let sums = try Harness.run("sh", ["-c", "cd '\(directory)' && sha256sum vmctl.json disk-root.qcow2 > SHA256SUMS"])
        #expect(sums.status == 0, "\(sums)")
        let archive = directory + "/mem.vmctl"
        let tar = try Harness.run("tar", ["--format=ustar", "-cf", archive, "-C", directory, "vmctl.json", "disk-root.qcow2", "SHA256SUMS"])
        #expect(tar.status == 0, "\(tar)")

        let result = try Harness.vmctl("import", archive)
        #expect(result.status == 1, "\(result)")
        #expect(result.stderrLines.count == 1 && result.stderr.hasPrefix("Error: ") && result.stderr.contains("memory"), "\(result)")
        #expect(try !Harness.domainExists(name))
        #expect(try Harness.volumes(of: name).isEmpty)
    }

    /// Writing into a closed pipe (as into a connection libvirtd dropped when it restarted) is an error
    /// vmctl reports, not a death by SIGPIPE with nothing said.
    @Test func aClosedPipeIsOneErrorLineNotASignal() throws {
        // The pipe's read end is closed before vmctl starts, so its first write fails, every time.
        let script = """
            import os, subprocess, sys
            r, w = os.pipe()
            os.close(r)
            p = subprocess.run([sys.argv[1], "list"], stdout=w, stderr=subprocess.PIPE)
            sys.stdout.write(f"{p.returncode}\\n{p.stderr.decode()}")
            """
        let result = try Harness.run("python3", ["-c", script, Harness.vmctlPath])
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        // subprocess reports death by a signal as its negative number: -13 for SIGPIPE.
        #expect(lines.first == "1", "\(result)")
        // (Other lines are notices, about what other users of this host left behind.)
        #expect(lines.dropFirst().filter { $0.hasPrefix("Error:") } == ["Error: cannot write the output: Broken pipe"], "\(result)")
    }

    /// libvirtd going away under a running command (it restarted): vmctl writes its next call into a closed
    /// socket, which is one error line, never a silent death by SIGPIPE (exit 141). A proxy in front of the
    /// real daemon drops vmctl's connection after the daemon's Nth reply, at each point of `vmctl list`.
    @Test func aDroppedLibvirtConnectionIsOneErrorLine() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vms-drop-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let proxy = directory + "/proxy.py"
        try Self.proxyScript.write(toFile: proxy, atomically: true, encoding: .utf8)
        for replies in 1...8 {
            let socket = directory + "/libvirt-\(replies).sock"
            let server = try Harness.start(["python3", proxy, socket, String(replies)], stderr: .inherit)
            defer { Harness.stop(server) }
            for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { usleep(50_000) }
            let result = try Harness.vmctl("list", "--connect", "qemu:///system?socket=\(socket)")
            // ChildProcess reports SIGPIPE as 141.
            #expect(result.status == 0 || result.status == 1, "after \(replies) replies: \(result)")
            if result.status != 0 {
                #expect(result.stderrLines.filter { $0.hasPrefix("Error: ") }.count == 1, "after \(replies) replies: \(result)")
            }
        }
    }

    /// Forwards one client at a time to libvirtd's socket and closes both ends after the daemon's Nth reply.
    static let proxyScript = """
        import os, select, socket, sys
        path, limit = sys.argv[1], int(sys.argv[2])
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(8)
        while True:
            client, _ = server.accept()
            daemon = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            daemon.connect("/run/libvirt/libvirt-sock")
            replies = 0
            try:
                while replies < limit:
                    ready, _, _ = select.select([client, daemon], [], [])
                    if client in ready:
                        data = client.recv(65536)
                        if not data: break
                        daemon.sendall(data)
                    if daemon in ready:
                        data = daemon.recv(65536)
                        if not data: break
                        client.sendall(data)
                        replies += 1
            except OSError:
                pass
            client.close()
            daemon.close()

        """

    /// A vmctl that cannot verify or join libvirtd's namespace says so, instead of working from the wrong one.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/run/libvirtd.pid"), "libvirtd runs here with a pidfile vmctl follows"))
    func aNamespaceThatCannotBeJoinedIsAnError() throws {
        let result = try Harness.run("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", Harness.vmctlPath, "list"])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderrLines.count == 1 && result.stderr.contains("libvirt's daemon"), "\(result)")
    }
}

import Foundation
import Testing
@testable import VMCtlCore

/// vmctl's own files and processes on the host: its SSH key, and the daemon whose namespace it joins.
@Suite struct HostStateTests {
    static func scratchDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vms-state-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// First runs at once (here: threads, each running ssh-keygen) end with one key pair that all of them
    /// use, and whose halves belong together. Rounds run in parallel, so some runs of a round overlap.
    @Test(arguments: 0..<20) func concurrentFirstRunsAgreeOnOneKeyPair(round: Int) throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = SSHKeyStore(directory: directory + "/ssh")
        let runs = 8
        let results = Results(count: runs)
        DispatchQueue.concurrentPerform(iterations: runs) { index in
            results.set(index, Result { try store.ensurePublicKey() })
        }
        let keys = try results.all.map { try $0.get() }
        #expect(Set(keys).count == 1, "\(keys)")
        let derived = try ProcessRunner.run("ssh-keygen", ["-y", "-f", store.privateKeyPath]).trimmingSpaces
        #expect(keys.first?.hasPrefix(derived.split(separator: " ").prefix(2).joined(separator: " ")) == true)
        // Nothing but the pair is left: no run's temporary files.
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory).sorted() == ["id_ed25519", "id_ed25519.pub"])
    }

    /// A pidfile whose number now belongs to another program (here: this test process) is stale: vmctl does
    /// not join that program's namespace.
    @Test func aPidfileNamingAnotherProgramIsStale() throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pidfile = directory + "/libvirtd.pid"
        try "\(getpid())\n".write(toFile: pidfile, atomically: true, encoding: .utf8)
        #expect(try HostNamespace.daemonPID(pidFiles: [pidfile]) == nil)
        try "999999999\n".write(toFile: pidfile, atomically: true, encoding: .utf8)
        #expect(try HostNamespace.daemonPID(pidFiles: [pidfile]) == nil)
    }

    /// The real daemon is recognised, so the join still happens where libvirtd runs here.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/run/libvirtd.pid") && getuid() == 0))
    func theRunningLibvirtdIsRecognised() throws {
        let text = try String(contentsOfFile: "/run/libvirtd.pid", encoding: .utf8).trimmingSpaces
        let pid = try #require(Int32(text), "/run/libvirtd.pid holds '\(text)'")
        try #require(kill(pid, 0) == 0, "the pidfile's libvirtd (pid \(pid)) is not running")
        #expect(try HostNamespace.daemonPID(pidFiles: ["/run/libvirtd.pid"]) == pid)
    }

    /// A lock another holder has leaves no descriptor open behind a refused attempt. Counts only descriptors
    /// of this lock's file: tests running meanwhile open and close others. In a scratch directory, so it
    /// needs no root.
    @Test func aRefusedLockLeavesNoDescriptorOpen() throws {
        let directory = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let name = "vms-test-\(UUID().uuidString)"
        let held = try #require(try HostLock(name: name, wait: false, directory: directory), "lock not taken")
        defer { held.release() }
        let path = "\(directory)/\(name).lock"
        func descriptorsOfTheLock() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter { fd in
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) == path
            }.count
        }
        #expect(try descriptorsOfTheLock() == 1)
        for _ in 0..<20 { #expect(try HostLock(name: name, wait: false, directory: directory) == nil) }
        #expect(try descriptorsOfTheLock() == 1)
    }
}

/// One result slot per concurrent run.
private final class Results: @unchecked Sendable {
    private var slots: [Result<String, Error>?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ result: Result<String, Error>) { lock.withLock { slots[index] = result } }
    var all: [Result<String, Error>] { lock.withLock { slots.compactMap { $0 } } }
}

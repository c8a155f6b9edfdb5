import CSystem
import Foundation
import Testing
@testable import VMCtlCore

/// vmctl moves into libvirtd's network namespace to reach guests; host work that needs the host's own
/// network (the tiny image's package downloads) must still run where vmctl started. A namespace of the
/// test's own stands in for libvirtd's, which on a fresh machine has no DNS.
@Suite(.enabled(if: getuid() == 0, "creating a network namespace needs root"))
struct CallerNamespaceTests {
    static func namespaceOfNewProcess() throws -> String {
        let result = try ChildProcess(["readlink", "/proc/self/ns/net"]).finish()
        return String(decoding: result.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func hostWorkSpawnedAfterJoiningAnotherNamespaceRunsWhereVMCtlStarted() throws {
        let name = "vmctl-test-caller-\(getpid())"
        #expect(try ChildProcess(["ip", "netns", "add", name]).finish().status == 0)
        defer { _ = try? ChildProcess(["ip", "netns", "delete", name]).finish() }

        // A thread of the test's own moves, as vmctl's main thread does when it joins libvirtd's namespace.
        final class Seen: @unchecked Sendable { var started = "", remembered = "", joined = "", hostWork = "", error: Error? }
        let seen = Seen()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { done.signal() }
            do {
                seen.started = try Self.namespaceOfNewProcess()
                try CallerNamespace.remember()
                // Another test may have remembered first; what counts is that host work runs in the remembered one.
                seen.remembered = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(CallerNamespace.descriptor)")
                let fd = open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
                guard fd >= 0, csystem_enter_network_namespace(fd) == 0 else { throw VMCtlError.failed("cannot enter \(name)") }
                close(fd)
                seen.joined = try Self.namespaceOfNewProcess()
                seen.hostWork = try CallerNamespace.run { try Self.namespaceOfNewProcess() }
            } catch {
                seen.error = error
            }
        }
        thread.start()
        done.wait()
        if let error = seen.error { throw error }
        #expect(seen.joined != seen.started, "the thread did not move: the test proves nothing")
        #expect(seen.joined != seen.remembered)
        #expect(seen.hostWork == seen.remembered)
    }
}

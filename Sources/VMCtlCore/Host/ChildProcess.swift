#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSystem
import Foundation

/// A host tool started with an argument vector (never through a shell), reaped with `waitpid` by its owner.
///
/// Not Foundation's `Process`: its `waitUntilExit` waits for a SIGCHLD handler that, on Linux, can miss a
/// child's exit and then waits forever (seen in this project's CI with a zombie child). Spawning with
/// `posix_spawn` also gives the child default signal dispositions and an empty mask, so it can be stopped
/// with SIGTERM even when started from a thread that blocks signals.
///
/// Not Sendable: its descriptors and exit status are its owner's alone, unguarded (two threads reaping one
/// child would race on `waitpid`).
public final class ChildProcess {
    public enum Output: Sendable {
        /// `/dev/null`.
        case discard
        /// Collected by `finish()`.
        case capture
        /// The caller's own stdout or stderr.
        case inherit
    }

    public struct Result: Sendable {
        /// The exit status, or 128 + the signal that ended the child.
        public let status: Int32
        public let output: Data
        public let errorOutput: Data
    }

    public let pid: pid_t
    private var input: Data
    private var inputFD: Int32
    private var outputFD: Int32
    private var errorFD: Int32
    private var exitStatus: Int32?

    /// Starts `argv[0]` (looked up in PATH) with `argv`. `input` is written to its stdin (nil: `/dev/null`).
    public init(_ argv: [String], environment: [String: String]? = nil, input: Data? = nil,
                stdout: Output = .capture, stderr: Output = .capture) throws {
        guard let tool = argv.first else { throw VMCtlError.invalid("no program to run") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        defer { childEnds.forEach { close($0) } }
        func pipeEnds() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [-1, -1]
            guard csystem_cloexec_pipe(&fds) == 0 else {
                parentEnds.forEach { close($0) }
                throw VMCtlError.system("cannot run \(tool)")
            }
            return (fds[0], fds[1])
        }
        func nullDevice(onto fd: Int32, flags: Int32) { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", flags, 0) }

        var stdinWrite: Int32 = -1
        if input != nil {
            let ends = try pipeEnds()
            stdinWrite = ends.write
            parentEnds.append(ends.write)
            childEnds.append(ends.read)
            posix_spawn_file_actions_adddup2(&actions, ends.read, 0)
        } else {
            nullDevice(onto: 0, flags: O_RDONLY)
        }
        func wire(_ output: Output, onto fd: Int32) throws -> Int32 {
            switch output {
            case .discard:
                nullDevice(onto: fd, flags: O_WRONLY)
                return -1
            case .inherit:
                return -1
            case .capture:
                let ends = try pipeEnds()
                parentEnds.append(ends.read)
                childEnds.append(ends.write)
                posix_spawn_file_actions_adddup2(&actions, ends.write, fd)
                return ends.read
            }
        }
        let stdoutRead = try wire(stdout, onto: 1)
        let stderrRead = try wire(stderr, onto: 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        // Whatever this process ignores or blocks, a child starts with the defaults: under an ignored SIGPIPE
        // `yes | head` would never end.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let environmentPairs = (environment.map { ProcessInfo.processInfo.environment.merging($0) { $1 } }
            ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var spawned: pid_t = 0
        let status = Self.withCStrings(argv) { argvPointers in
            Self.withCStrings(environmentPairs) { environmentPointers in
                posix_spawnp(&spawned, tool, &actions, &attributes, argvPointers, environmentPointers)
            }
        }
        guard status == 0 else {
            parentEnds.forEach { close($0) }
            throw VMCtlError.system("cannot run \(tool)", errno: status)
        }
        pid = spawned
        self.input = input ?? Data()
        inputFD = stdinWrite
        outputFD = stdoutRead
        errorFD = stderrRead
        if inputFD >= 0 { _ = fcntl(inputFD, F_SETFL, fcntl(inputFD, F_GETFL) | O_NONBLOCK) }
    }

    deinit {
        for fd in [inputFD, outputFD, errorFD] where fd >= 0 { close(fd) }
    }

    /// Sends `signal` to the child, if it has not been reaped yet.
    public func signal(_ signal: Int32) {
        if exitStatus == nil { kill(pid, signal) }
    }

    /// Whether the child is still running (reaps it if it has ended).
    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid { exitStatus = Self.decode(status) }
        return reaped == 0
    }

    /// Feeds stdin, drains stdout and stderr together (so no pipe fills up and blocks the child), then reaps it.
    @discardableResult
    public func finish() -> Result {
        var output = Data(), errorOutput = Data()
        var written = 0
        if inputFD >= 0 && input.isEmpty { closeFD(&inputFD) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        // A child that exits without reading all its input makes the write fail with EPIPE and raise SIGPIPE,
        // whose default action would end vmctl: held back on this thread and discarded.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        var previousMask = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previousMask)
        defer {
            var immediately = timespec(tv_sec: 0, tv_nsec: 0)
            while sigtimedwait(&pipeSignal, nil, &immediately) == SIGPIPE {}
            pthread_sigmask(SIG_SETMASK, &previousMask, nil)
        }
        while inputFD >= 0 || outputFD >= 0 || errorFD >= 0 {
            var fds = [pollfd(fd: inputFD, events: Int16(POLLOUT), revents: 0),
                       pollfd(fd: outputFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: errorFD, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, nfds_t(fds.count), -1) >= 0 else {
                if errno == EINTR { continue }
                break
            }
            if inputFD >= 0 && fds[0].revents != 0 {
                let count = input.withUnsafeBytes { bytes in
                    write(inputFD, bytes.baseAddress! + written, min(bytes.count - written, 65536))
                }
                if count > 0 { written += count }
                if written == input.count || (count < 0 && errno != EAGAIN && errno != EINTR) { closeFD(&inputFD) }
            }
            for (index, isOutput) in [(1, true), (2, false)] where fds[index].revents != 0 {
                let fd = isOutput ? outputFD : errorFD
                let count = read(fd, &buffer, buffer.count)
                if count > 0 {
                    if isOutput { output.append(contentsOf: buffer[0..<count]) } else { errorOutput.append(contentsOf: buffer[0..<count]) }
                } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                    if isOutput { closeFD(&outputFD) } else { closeFD(&errorFD) }
                }
            }
        }
        return Result(status: wait(), output: output, errorOutput: errorOutput)
    }

    /// Reaps the child (without reading its pipes: use `finish()` when it writes to them).
    @discardableResult
    public func wait() -> Int32 {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { status = 0xff << 8; break }
        }
        let decoded = Self.decode(status)
        exitStatus = decoded
        return decoded
    }

    private func closeFD(_ fd: inout Int32) {
        close(fd)
        fd = -1
    }

    /// The exit code, or 128 + the terminating signal, as a shell reports it.
    static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

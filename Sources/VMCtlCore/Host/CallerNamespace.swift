import CSystem
import Foundation

/// The network namespace vmctl was started in, kept so host-side work that needs the host's own network
/// can leave libvirtd's namespace again.
///
/// vmctl joins libvirtd's namespace to reach guests (`HostNamespace`). Where the bootstrap runs libvirtd in
/// `vmctl-host`, that namespace routes only to a test neighbour and has no DNS, so a package download run
/// from there fails on a fresh machine. Such work runs through `run(_:)` instead.
public enum CallerNamespace {
    nonisolated(unsafe) private(set) static var descriptor: Int32 = -1
    private static let lock = NSLock()

    /// Opens the calling thread's namespace once, before anything moves it; later calls keep the first.
    static func remember() throws {
        lock.lock()
        defer { lock.unlock() }
        guard descriptor < 0 else { return }
        let fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw VMCtlError.system("cannot open this process's network namespace")
        }
        descriptor = fd
    }

    /// Runs `body` on a thread of its own that is back in the namespace vmctl started in; processes it spawns
    /// are born there. Runs `body` where it is when vmctl never left that namespace.
    public static func run<T>(_ body: @escaping () throws -> T) throws -> T {
        lock.lock()
        let fd = descriptor
        lock.unlock()
        guard fd >= 0 else { return try body() }
        // setns moves one thread only: a thread of our own, discarded afterwards, keeps the rest of vmctl
        // (the main thread's guest-facing work) in libvirtd's namespace.
        let outcome = Outcome<T>(body)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { done.signal() }
            guard csystem_enter_network_namespace(fd) == 0 else {
                outcome.result = .failure(VMCtlError.system("cannot return to vmctl's own network namespace"))
                return
            }
            outcome.result = Result { try outcome.body() }
        }
        thread.stackSize = 1 << 20
        thread.start()
        done.wait()
        guard let result = outcome.result else { throw VMCtlError.failed("host task ended without a result") }
        return try result.get()
    }

    /// Hands the work to the thread and the result back; the semaphore orders the two accesses.
    private final class Outcome<T>: @unchecked Sendable {
        let body: () throws -> T
        var result: Result<T, Error>?
        init(_ body: @escaping () throws -> T) { self.body = body }
    }
}

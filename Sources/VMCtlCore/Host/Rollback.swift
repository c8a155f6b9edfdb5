/// Undo steps for a multi-step operation: on failure they run newest first; `commit()` keeps the work.
final class Rollback {
    private var steps: [() throws -> Void] = []

    func add(_ step: @escaping () throws -> Void) { steps.append(step) }
    func commit() { steps.removeAll() }

    /// Runs the undo steps that remain. Errors while undoing are swallowed: the original error is the one to report.
    func unwind() {
        for step in steps.reversed() { try? step() }
        steps.removeAll()
    }
}

/// Polls until `body` returns a value or `timeout` passes, at `interval`; no fixed sleeps in callers.
func poll<T>(timeout: Seconds, interval: Seconds = 0.1, _ body: () throws -> T?) rethrows -> T? {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout.duration)
    while true {
        if let value = try body() { return value }
        if clock.now >= deadline { return nil }
        max(min(interval, Seconds.until(deadline, on: clock)), 0.005).sleep()
    }
}

#if canImport(Glibc)
import Glibc
#endif

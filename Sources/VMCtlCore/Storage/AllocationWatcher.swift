import Foundation
import Libvirt
import LibvirtXML

/// Polls a volume's allocation on its own thread while the caller's thread is blocked in a copy. It uses the
/// same connection (libvirt connections serve several threads at once; a second `qemu+ssh` connection
/// would ask for credentials again).
final class AllocationWatcher: @unchecked Sendable {
    private let pool: StoragePool
    private let volumeName: String
    private let estimate: UInt64
    private let progress: Progress
    private let condition = NSCondition()
    private var stopping = false
    private var running = false

    init(pool: StoragePool, volumeName: String, estimate: UInt64, progress: Progress) {
        self.pool = pool
        self.volumeName = volumeName
        self.estimate = max(estimate, 1)
        self.progress = progress
    }

    func start() {
        condition.lock()
        running = true
        condition.unlock()
        progress.update(done: 0, total: estimate)
        Thread { [self] in run() }.start()
    }

    /// Returns once the polling thread has finished, so the caller owns `progress` again.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
    }

    private func run() {
        condition.lock()
        while !stopping {
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.25))
            if stopping { break }
            condition.unlock()
            // The volume appears as soon as the daemon starts the copy; before that the lookup fails.
            if let allocation = try? pool.lookupVolume(name: volumeName).info().allocation {
                // The estimate is rough, so the bar never claims completion before the copy returns.
                progress.update(done: min(allocation, estimate / 100 * 99), total: estimate)
            }
            condition.lock()
        }
        running = false
        condition.broadcast()
        condition.unlock()
    }
}

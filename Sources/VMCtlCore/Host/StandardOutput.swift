import CSystem
import Foundation

/// vmctl's stdout as stdio buffers it (where `print` writes too), so that one check at exit sees every
/// failed write; FileHandle would trap on a write to a closed pipe instead.
public enum StandardOutput {
    public static func write(_ data: Data) {
        data.withUnsafeBytes { _ = csystem_stdout_write($0.baseAddress, UInt($0.count)) }
    }

    /// Flushes; true when that or an earlier write failed (errno says why).
    public static var failed: Bool { csystem_stdout_failed() != 0 }
}

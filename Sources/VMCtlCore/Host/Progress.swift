import Foundation

/// Reports progress of long transfers: a redrawn bar on a terminal, plain lines under CI or in logs.
public final class Progress {
    private let label: String
    private let isTerminal: Bool
    private var lastPercent = -1

    public init(label: String) {
        self.label = label
        self.isTerminal = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["CI"] == nil
    }

    public func update(done: UInt64, total: UInt64) {
        let percent = total == 0 ? 100 : Int(done * 100 / total)
        if isTerminal {
            guard percent != lastPercent else { return }
            let filled = percent * 30 / 100
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: 30 - filled)
            FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(percent)%".utf8))
        } else {
            // Plain lines every 10% keep CI logs short.
            guard percent / 10 != lastPercent / 10 || lastPercent < 0 else { lastPercent = percent; return }
            FileHandle.standardError.write(Data("\(label): \(percent)% (\(ByteSize(bytes: done)) of \(ByteSize(bytes: total)))\n".utf8))
        }
        lastPercent = percent
    }

    public func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

import Foundation
import VMCtlCore

/// Results go to stdout; notices and diagnostics to stderr, prefixed so they stand out in logs.
enum Output {
    static func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        StandardOutput.write(try encoder.encode(value) + Data("\n".utf8))
    }

    /// One result line, flushed at once (a watcher's lines go to a log file as they happen).
    static func line(_ text: String) {
        print(text)
        fflush(nil)
    }

    static func notice(_ text: String) {
        FileHandle.standardError.write(Data("vmctl: \(text)\n".utf8))
    }

    /// Left-aligned columns, widths from the widest cell.
    static func table(header: [String], rows: [[String]]) {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        for row in all {
            let cells = row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }
            print(cells.joined(separator: "  "))
        }
    }
}

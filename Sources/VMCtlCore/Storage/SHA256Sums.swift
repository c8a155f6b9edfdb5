import Foundation

/// The archive's `SHA256SUMS`: one `HEX  NAME` line per member, the format `sha256sum -c` checks, so an
/// extracted archive can be verified without vmctl.
public struct SHA256Sums: Sendable, Equatable {
    public private(set) var entries: [(name: String, digest: String)]

    public init(entries: [(name: String, digest: String)] = []) { self.entries = entries }

    public static func == (lhs: SHA256Sums, rhs: SHA256Sums) -> Bool {
        lhs.entries.map(\.name) == rhs.entries.map(\.name) && lhs.entries.map(\.digest) == rhs.entries.map(\.digest)
    }

    public mutating func add(name: String, digest: String) { entries.append((name, digest)) }

    public func digest(of name: String) -> String? { entries.first { $0.name == name }?.digest }

    public var text: String { entries.map { "\($0.digest)  \($0.name)\n" }.joined() }

    public init(parsing text: String) throws {
        var entries: [(name: String, digest: String)] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            // `sha256sum` marks binary mode with '*' instead of the second space.
            guard line.count > 66, let digest = line.split(separator: " ", maxSplits: 1).first,
                  digest.count == 64, digest.allSatisfy(\.isHexDigit) else {
                throw VMCtlError.invalid("invalid \(ExportManifest.checksumsFileName): expected 'SHA256  NAME' lines")
            }
            let rest = line.dropFirst(65)
            let name = rest.first == "*" || rest.first == " " ? rest.dropFirst() : rest
            entries.append((String(name), digest.lowercased()))
        }
        self.entries = entries
    }

    /// Compares what was computed while reading with what the archive claims, member by member.
    public func verify(computed: SHA256Sums) throws {
        for (name, digest) in computed.entries {
            guard let expected = self.digest(of: name) else {
                throw VMCtlError.invalid("archive's \(ExportManifest.checksumsFileName) has no checksum for '\(name)'")
            }
            guard expected == digest else {
                throw VMCtlError.invalid("checksum mismatch for '\(name)' in the archive: it is corrupted (expected sha256 \(expected.prefix(12))…, got \(digest.prefix(12))…)")
            }
        }
    }
}

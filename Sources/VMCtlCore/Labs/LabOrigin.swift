import Foundation
import Yams

/// Where a value came from in a lab file: shown in every error as `FILE:LINE: PATH: message`.
public struct LabOrigin: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The file as the user named it (relative to the working directory when inside it).
    public let file: String
    public let line: Int
    /// The key path inside the document, e.g. `spec.networks[0].address` (empty: the document itself).
    public let path: String

    public init(file: String, line: Int, path: String) {
        self.file = file
        self.line = line
        self.path = path
    }

    public var description: String { "\(file):\(line)" }

    public func error(_ message: String, code: VMCtlError.Code = .invalid) -> VMCtlError {
        VMCtlError(code, "\(file):\(line): \(path.isEmpty ? "" : path + ": ")\(message)")
    }
}

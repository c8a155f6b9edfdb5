import Foundation

public enum LabOperation: String, Codable, Sendable, CaseIterable {
    case create, update, replace, delete, unchanged

    /// The mark `vmctl plan` prints before the object.
    public var symbol: String {
        switch self {
        case .create: "+"
        case .update: "~"
        case .replace: "-/+"
        case .delete: "-"
        case .unchanged: "="
        }
    }
}

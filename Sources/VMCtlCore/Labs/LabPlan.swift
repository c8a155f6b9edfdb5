import Foundation

public struct LabPlan: Sendable, Equatable {
    public var lab: String
    public var actions: [LabAction]

    /// How many objects change.
    public var pending: Int { actions.filter { $0.operation != .unchanged }.count }

    public func count(_ operation: LabOperation) -> Int { actions.filter { $0.operation == operation }.count }

    public var summary: String {
        let parts = [LabOperation.create, .update, .replace, .delete].map { "\(count($0)) to \($0.rawValue)" }
        return "lab \(lab): " + parts.joined(separator: ", ") + ", \(count(.unchanged)) unchanged"
    }
}

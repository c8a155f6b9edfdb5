import Foundation

public struct FleetPlan: Sendable, Equatable {
    public var lab: String
    public var actions: [FleetAction]

    /// How many objects change.
    public var pending: Int { actions.filter { $0.operation != .unchanged }.count }

    public func count(_ operation: FleetOperation) -> Int { actions.filter { $0.operation == operation }.count }

    public var summary: String {
        let parts = [FleetOperation.create, .update, .replace, .delete].map { "\(count($0)) to \($0.rawValue)" }
        return "lab \(lab): " + parts.joined(separator: ", ") + ", \(count(.unchanged)) unchanged"
    }
}

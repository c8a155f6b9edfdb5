import Foundation

public struct LabApplyOptions: Sendable {
    /// Members created, changed or waited for at once.
    public var parallel: Int
    /// How long each member may take to become ready.
    public var timeout: Seconds

    public init(parallel: Int = 4, timeout: Seconds = 180) {
        self.parallel = parallel
        self.timeout = timeout
    }
}

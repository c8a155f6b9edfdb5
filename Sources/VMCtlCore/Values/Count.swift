/// How many of something a user asks for (`--tail 20`): not negative and at most a billion, so adding to
/// it or slicing with it cannot trap.
public struct Count: Sendable, Hashable, CustomStringConvertible {
    public static let largest = 1_000_000_000

    public let value: Int

    public init(_ value: Int, of what: String) throws {
        guard (0...Self.largest).contains(value) else {
            throw VMCtlError.invalid("invalid number of \(what) \(value): use 0 to \(Self.largest)")
        }
        self.value = value
    }

    public var description: String { String(value) }
}

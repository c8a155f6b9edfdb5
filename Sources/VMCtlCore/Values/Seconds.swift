import Glibc

/// A length of time a user gives in seconds (`90`, `0.5`): finite, not negative and at most a year, kept
/// in whole milliseconds, so every conversion to clocks, integers and sleeps is exact and cannot trap.
public struct Seconds: Sendable, Hashable, Comparable, CustomStringConvertible,
    ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral {
    static let longestMilliseconds: Int64 = 366 * 86_400_000
    public static let longest = Seconds(milliseconds: longestMilliseconds)

    public let milliseconds: Int64

    init(milliseconds: Int64) { self.milliseconds = max(0, min(milliseconds, Self.longestMilliseconds)) }

    public init(_ value: Double) throws {
        guard value.isFinite, value >= 0, value <= Double(Self.longestMilliseconds / 1000) else {
            throw VMCtlError.invalid("invalid number of seconds '\(value)': use 0 to \(Self.longestMilliseconds / 1000)")
        }
        milliseconds = Int64((value * 1000).rounded())
    }

    public init(parsing text: String) throws {
        let trimmed = text.trimmingSpaces
        // Double() also reads "inf", "nan" and hexadecimal floats: only plain decimals are seconds.
        guard !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let value = Double(trimmed) else {
            throw VMCtlError.invalid("invalid number of seconds '\(ResourceName.printable(text))': use 0 to \(Self.longestMilliseconds / 1000), e.g. 90 or 0.5")
        }
        try self.init(value)
    }

    /// For constants in the code; they are within range.
    public init(integerLiteral value: Int64) { self.init(milliseconds: value * 1000) }
    public init(floatLiteral value: Double) { self.init(milliseconds: Int64((value * 1000).rounded())) }

    /// A measured duration, in whole milliseconds (rounded down; negative is none, more than a year a year).
    public init(_ duration: Duration) {
        let parts = duration.components
        let (whole, overflow) = parts.seconds.multipliedReportingOverflow(by: 1000)
        self.init(milliseconds: overflow ? (parts.seconds < 0 ? 0 : Self.longestMilliseconds)
                                         : whole + parts.attoseconds / 1_000_000_000_000_000)
    }

    public var duration: Duration { .milliseconds(milliseconds) }
    public var value: Double { Double(milliseconds) / 1000 }

    /// The time left until `deadline` on `clock` (none once it has passed).
    static func until(_ deadline: ContinuousClock.Instant, on clock: ContinuousClock) -> Seconds {
        Seconds(deadline - clock.now)
    }

    /// For poll(2), whose Int32 milliseconds end at 24.8 days: longer waits are cut there (callers loop).
    var pollMilliseconds: Int32 { Int32(clamping: milliseconds) }

    /// For SO_RCVTIMEO and SO_SNDTIMEO.
    var timeval: Glibc.timeval { Glibc.timeval(tv_sec: Int(milliseconds / 1000), tv_usec: Int(milliseconds % 1000) * 1000) }

    /// Sleeps this long on the calling thread, through interrupted sleeps.
    func sleep() {
        var request = timespec(tv_sec: Int(milliseconds / 1000), tv_nsec: Int(milliseconds % 1000) * 1_000_000)
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    public static func < (lhs: Seconds, rhs: Seconds) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public var description: String {
        milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(value) s"
    }
}

/// How big a VM may be, wherever its size comes from (a command, a lab file, an export's manifest, a resize):
/// the one place these bounds live, so every way in refuses the same values in the same words. The upper
/// bounds keep later arithmetic (hot-plug headroom doubles memory) far from overflow.
public enum VMSizeLimits {
    public static let cpus = 1...64
    public static let memory = ByteSize.mebibytes(64)...ByteSize(bytes: 16 << 40)
    public static let disk = ByteSize.mebibytes(16)...ByteSize.largest

    public static func check(cpus value: Int) throws {
        guard cpus.contains(value) else { throw VMCtlError.invalid("invalid cpus \(value): use \(cpus.lowerBound) to \(cpus.upperBound)") }
    }

    public static func check(memory value: ByteSize) throws {
        guard memory.contains(value) else { throw VMCtlError.invalid("invalid memory \(value): use \(memory.lowerBound) to \(memory.upperBound)") }
    }

    public static func check(disk value: ByteSize) throws {
        guard disk.contains(value) else { throw VMCtlError.invalid("invalid disk \(value): use \(disk.lowerBound) to \(disk.upperBound)") }
    }
}

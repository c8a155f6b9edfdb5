internal import CLibvirt

/// An error reported by libvirt, read from the thread-local "last error" right after the failing call.
public struct LibvirtError: Error, Sendable, CustomStringConvertible, Equatable {
    /// `virErrorNumber` (what went wrong).
    public let code: Int32
    /// `virErrorDomain` (which part of libvirt reported it).
    public let domain: Int32
    public let message: String

    public init(code: Int32, domain: Int32, message: String) {
        self.code = code
        self.domain = domain
        self.message = message
    }

    public var description: String { message }

    /// Captures and clears the calling thread's last libvirt error.
    /// libvirt keeps errors per thread, so this must run on the thread that made the failing call.
    static func last(fallback: String = "libvirt call failed") -> LibvirtError {
        guard let err = virGetLastError() else {
            return LibvirtError(code: Int32(VIR_ERR_INTERNAL_ERROR.rawValue), domain: 0, message: fallback)
        }
        let message = err.pointee.message.map { String(cString: $0) } ?? fallback
        let result = LibvirtError(code: err.pointee.code, domain: err.pointee.domain, message: message)
        virResetLastError()
        return result
    }

    public var isNotFound: Bool {
        [VIR_ERR_NO_DOMAIN, VIR_ERR_NO_NETWORK, VIR_ERR_NO_STORAGE_POOL, VIR_ERR_NO_STORAGE_VOL,
         VIR_ERR_NO_DOMAIN_SNAPSHOT, VIR_ERR_NO_DOMAIN_METADATA]
            .contains { Int32($0.rawValue) == code }
    }

    public var isOperationInvalid: Bool { code == Int32(VIR_ERR_OPERATION_INVALID.rawValue) }
    /// A snapshot revert that libvirt does only with the FORCE flag (e.g. the definition changed since).
    public var isRevertRisky: Bool { code == Int32(VIR_ERR_SNAPSHOT_REVERT_RISKY.rawValue) }
    public var isNoConnect: Bool {
        code == Int32(VIR_ERR_NO_CONNECT.rawValue) || code == Int32(VIR_ERR_SYSTEM_ERROR.rawValue)
    }
}

/// libvirt prints every error to stderr by default; vmctl reports errors itself, once, in its own words.
enum ErrorPrinter {
    private static let silenced: Void = {
        virSetErrorFunc(nil) { _, _ in }
    }()

    static func silence() { _ = silenced }
}

@inline(__always)
func check(_ result: Int32) throws {
    if result < 0 { throw LibvirtError.last() }
}

/// Takes ownership of a heap string libvirt returned (to be released with free()).
func takeString(_ pointer: UnsafeMutablePointer<CChar>?) throws -> String {
    guard let pointer else { throw LibvirtError.last() }
    defer { free(pointer) }
    return String(cString: pointer)
}

/// Wraps each element of a libvirt-allocated array of object pointers, then frees the array itself.
func takeArray<Raw, Object>(
    count: Int32,
    _ array: UnsafeMutablePointer<Raw?>?,
    wrap: (Raw) -> Object
) throws -> [Object] {
    guard count >= 0 else { throw LibvirtError.last() }
    guard let array else { return [] }
    defer { free(array) }
    return (0..<Int(count)).compactMap { array[$0].map(wrap) }
}

func uuidString(_ body: (UnsafeMutablePointer<CChar>) -> Int32) throws -> String {
    var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
    let result = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    try check(result)
    return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

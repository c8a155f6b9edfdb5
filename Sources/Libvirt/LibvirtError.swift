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

    /// No daemon answers: it is down, the connection dropped (a restart), or the URI's host cannot be reached.
    /// A system error is counted only from the RPC layer; elsewhere it is a file or process failure on the host.
    public var isConnectionLost: Bool {
        if oneOf(VIR_ERR_NO_CONNECT, VIR_ERR_INVALID_CONN, VIR_ERR_RPC, VIR_ERR_UNKNOWN_HOST) { return true }
        return domain == Int32(VIR_FROM_RPC.rawValue) && oneOf(VIR_ERR_SYSTEM_ERROR, VIR_ERR_INTERNAL_ERROR)
    }

    public var isAlreadyExists: Bool {
        oneOf(VIR_ERR_DOM_EXIST, VIR_ERR_NETWORK_EXIST, VIR_ERR_STORAGE_VOL_EXIST, VIR_ERR_NETWORK_PORT_EXIST)
    }

    /// The object's current state forbids the call (not running, already active, a block job in the way).
    public var isStateConflict: Bool {
        oneOf(VIR_ERR_OPERATION_INVALID, VIR_ERR_BLOCK_COPY_ACTIVE, VIR_ERR_SNAPSHOT_REVERT_RISKY)
    }

    public var isAccessDenied: Bool {
        oneOf(VIR_ERR_ACCESS_DENIED, VIR_ERR_OPERATION_DENIED, VIR_ERR_AUTH_FAILED, VIR_ERR_AUTH_CANCELLED,
           VIR_ERR_AUTH_UNAVAILABLE)
    }

    public var isBusy: Bool { oneOf(VIR_ERR_RESOURCE_BUSY) }
    public var isTimeout: Bool { oneOf(VIR_ERR_OPERATION_TIMEOUT, VIR_ERR_AGENT_UNRESPONSIVE) }

    /// libvirt rejected what it was given (an argument, an XML document, a configuration) rather than failed.
    public var isInvalidRequest: Bool {
        oneOf(VIR_ERR_INVALID_ARG, VIR_ERR_XML_ERROR, VIR_ERR_XML_DETAIL, VIR_ERR_XML_INVALID_SCHEMA,
           VIR_ERR_CONFIG_UNSUPPORTED, VIR_ERR_INVALID_MAC)
    }

    private func oneOf(_ numbers: virErrorNumber...) -> Bool { numbers.contains { Int32($0.rawValue) == code } }
}

/// libvirt prints every error to stderr by default; vmctl reports errors itself, once, in its own words.

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

import Foundation
import Libvirt

/// An error vmctl reports to its user: one line that names the problem (`description`), and a `code` saying
/// what kind of problem it is, so callers branch on the kind instead of on the wording or on whether a call
/// threw at all (a check that cannot be made is not a check that passed).
public struct VMCtlError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Few on purpose: each is a different answer to "what should the caller do now".
    public enum Code: String, Sendable, CaseIterable {
        /// The named object does not exist (a VM, image, network, snapshot, flavor…).
        case notFound
        /// An object of that name is there already.
        case alreadyExists
        /// What was asked is malformed or out of range (an argument, a lab file, an archive, stored metadata):
        /// asking again unchanged fails again.
        case invalid
        /// Well-formed, but the current state forbids it (the VM is running, linked clones depend on its disk,
        /// VMs are attached): it can succeed after that state changes.
        case conflict
        /// Another vmctl process holds it (a create in progress, a host lock).
        case busy
        /// Something vmctl needs is not there to ask: libvirtd is down or the connection was lost, KVM is not
        /// usable, the libvirt host is not this machine.
        case unavailable
        /// The host or libvirt refused access.
        case permission
        /// It did not happen within the time allowed.
        case timedOut
        /// Anything else that went wrong while doing it: a libvirt failure, a program vmctl ran, I/O.
        case failed
    }

    /// The request option an error is about, for a front end to name in its own terms (the CLI names its
    /// flag): the message itself is advice any caller can follow, a lab file's as much as a command line's.
    public enum Hint: Sendable, Equatable {
        /// Going ahead anyway (pull the plug, leave attached VMs dangling) would get past it.
        case force
        /// Waiting for it would get past it.
        case wait
        /// Taking the snapshot disk-only would get past it.
        case diskOnly
        /// Taking the snapshot with the VM's RAM (not disk-only) would get past it.
        case withoutDiskOnly
        /// The accelerator asked for cannot be used.
        case accelerator
    }

    public let code: Code
    /// What went wrong, in one line.
    public let message: String
    /// What to do about it, after the message; a front end may offer its own (see `advising`).
    public let advice: String?
    public let hint: Hint?
    /// The error this one reports (a libvirt error, a system call's, another VMCtlError it adds context to).
    public let cause: (any Error)?

    public init(_ code: Code, _ message: String, advice: String? = nil, hint: Hint? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.advice = advice
        self.hint = hint
        self.cause = cause
    }

    /// The one line users see.
    public var description: String { advice.map { "\(message); \($0)" } ?? message }

    /// The libvirt error underneath, however many layers of context were added on top of it.
    public var libvirtError: LibvirtError? {
        (cause as? LibvirtError) ?? (cause as? VMCtlError)?.libvirtError
    }

    /// Equal when users would see the same line for the same kind of problem (the cause is not comparable).
    public static func == (lhs: VMCtlError, rhs: VMCtlError) -> Bool {
        lhs.code == rhs.code && lhs.description == rhs.description
    }

    /// The same error, its whole line reworded (to add context, or a front end's own terms).
    public func reworded(_ message: String) -> VMCtlError {
        VMCtlError(code, message, hint: hint, cause: cause)
    }

    /// The same error with other advice after its message.
    public func advising(_ advice: String) -> VMCtlError {
        VMCtlError(code, message, advice: advice, hint: hint, cause: cause)
    }

    /// The same error, its line prefixed with where or what it was about; still its kind and cause.
    public func prefixed(_ context: String) -> VMCtlError { reworded("\(context): \(description)") }

    public static func invalid(_ message: String, advice: String? = nil, hint: Hint? = nil) -> VMCtlError {
        VMCtlError(.invalid, message, advice: advice, hint: hint)
    }

    public static func conflict(_ message: String, advice: String? = nil, hint: Hint? = nil) -> VMCtlError {
        VMCtlError(.conflict, message, advice: advice, hint: hint)
    }

    public static func failed(_ message: String, cause: (any Error)? = nil) -> VMCtlError {
        VMCtlError(.failed, message, cause: cause)
    }

    /// A failed system call, reported with `errno`'s text; its kind follows from the errno (EACCES is a
    /// permission problem, ENOENT a missing thing, EEXIST a taken name).
    static func system(_ message: String, errno number: Int32 = errno) -> VMCtlError {
        VMCtlError(Code(errno: number), "\(message): \(String(cString: strerror(number)))")
    }

    static func notFound(_ kind: String, _ name: String, known: [String] = []) -> VMCtlError {
        let hint = known.isEmpty ? "" : " (known: \(known.sorted().joined(separator: ", ")))"
        return VMCtlError(.notFound, "\(kind) '\(name)' not found\(hint)")
    }

    static func alreadyExists(_ kind: String, _ name: String) -> VMCtlError {
        VMCtlError(.alreadyExists, "\(kind) '\(name)' already exists")
    }
}

extension VMCtlError.Code {
    /// The kind of a failed system call, from its errno.
    public init(errno number: Int32) {
        self = switch number {
        case EACCES, EPERM, EROFS: .permission
        case ENOENT: .notFound
        case EEXIST: .alreadyExists
        case EWOULDBLOCK, EBUSY: .busy
        default: .failed
        }
    }

    /// The kind of a libvirt failure, from libvirt's error number.
    public init(_ error: LibvirtError) {
        self = if error.isNotFound { .notFound }
            else if error.isConnectionLost { .unavailable }
            else if error.isAlreadyExists { .alreadyExists }
            else if error.isStateConflict { .conflict }
            else if error.isAccessDenied { .permission }
            else if error.isBusy { .busy }
            else if error.isTimeout { .timedOut }
            else if error.isInvalidRequest { .invalid }
            else { .failed }
    }
}

extension LibvirtError {
    /// Prefixes libvirt's message with what vmctl was doing, keeping libvirt's kind of failure and the error.
    func context(_ action: String) -> VMCtlError {
        VMCtlError(VMCtlError.Code(self), "\(action): \(message)", cause: self)
    }
}

/// Reads an object that a listing just returned: nil when another client removed it in between, which a
/// listing skips rather than fails on. Wraps the libvirt call itself, before `libvirt(_:_:)` rewords its error.
func unlessVanished<T>(_ body: () throws -> T) throws -> T? {
    do {
        return try body()
    } catch let error as LibvirtError where error.isNotFound {
        return nil
    }
}

/// Runs a libvirt call and turns its failure into a one-line error saying what failed, of libvirt's kind.
@discardableResult
func libvirt<T>(_ action: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as LibvirtError {
        throw error.context(action())
    }
}

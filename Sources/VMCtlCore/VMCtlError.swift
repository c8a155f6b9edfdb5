import Libvirt

/// An error vmctl reports to its user: one line that names the problem.
public struct VMCtlError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }

    static func notFound(_ kind: String, _ name: String, known: [String] = []) -> VMCtlError {
        let hint = known.isEmpty ? "" : " (known: \(known.sorted().joined(separator: ", ")))"
        return VMCtlError("\(kind) '\(name)' not found\(hint)")
    }

    static func alreadyExists(_ kind: String, _ name: String) -> VMCtlError {
        VMCtlError("\(kind) '\(name)' already exists")
    }
}

extension LibvirtError {
    /// Prefixes libvirt's message with what vmctl was doing.
    func context(_ action: String) -> VMCtlError { VMCtlError("\(action): \(message)") }
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

/// Runs a libvirt call and turns its failure into a one-line error saying what failed.
@discardableResult
func libvirt<T>(_ action: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as LibvirtError {
        throw error.context(action())
    }
}

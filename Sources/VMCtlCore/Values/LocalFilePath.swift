/// A file on the machine vmctl runs on, as the user wrote it (absolute, or relative to the working directory):
/// not empty and without NUL, which no file name holds and C calls would cut the name at.
public struct LocalFilePath: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    /// `what` names the file in the error ("archive file", "image file").
    public init(_ text: String, what: String) throws {
        guard !text.isEmpty else { throw VMCtlError.invalid("no \(what) name given") }
        guard !text.contains("\0") else { throw VMCtlError.invalid("invalid \(what) name '\(ResourceName.printable(text))'") }
        self.text = text
    }

    /// Safe to show: control characters cannot garble the terminal.
    public var description: String { ResourceName.printable(text) }
}

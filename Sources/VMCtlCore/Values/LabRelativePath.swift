/// A file a lab names by a path relative to the folder of the file that names it: not empty, not absolute, no
/// NUL. vmctl runs as root, so where such a path leads is checked again when it is opened (symlinks and `..`
/// must end inside the folder), on the file actually opened.
public struct LabRelativePath: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    /// `folderOf` names the file the path is relative to, for the error.
    public init(_ text: String, folderOf file: String) throws {
        guard !text.isEmpty, !text.hasPrefix("/"), !text.contains("\0") else {
            throw VMCtlError.invalid("invalid source '\(ResourceName.printable(text))': give a path relative to the folder of \(file)")
        }
        self.text = text
    }

    /// Safe to show: control characters cannot garble the terminal.
    public var description: String { ResourceName.printable(text) }
}

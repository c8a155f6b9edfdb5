import Foundation

/// A Domain's `user-data`: files to write and commands to run on first boot, turned into NoCloud `runcmd`
/// lines (the tiny image and cloud-init both run them). Each file becomes one line that decodes its base64
/// content, so any bytes survive the trip through YAML and the guest's shell.
enum LabUserData {
    static func commands(_ node: LabNode, document: LabNode) throws -> [String] {
        let fields = try node.mapping(allowed: ["files", "run"])
        var commands: [String] = []
        for file in try fields["files"]?.sequence() ?? [] {
            commands.append(try fileCommand(file))
        }
        for item in try fields["run"]?.sequenceOrSingle() ?? [] {
            let command = try item.string()
            guard !command.contains(where: \.isNewline) else {
                throw item.error("one line per command (put scripts in user-data.files)")
            }
            guard !hasControlCharacter(command, allowingTab: true) else {
                throw item.error("a control character in a command (the seed's YAML cannot carry it)")
            }
            guard !command.trimmingSpaces.isEmpty else { throw item.error("empty command") }
            commands.append(command)
        }
        return commands
    }

    static func fileCommand(_ node: LabNode) throws -> String {
        let fields = try node.mapping(allowed: ["path", "content", "source", "mode"])
        let pathNode = try fields.required("path")
        let path = try pathNode.string()
        guard path.hasPrefix("/"), !path.hasSuffix("/"), !hasControlCharacter(path, allowingTab: false) else {
            throw pathNode.error("invalid path '\(ResourceName.printable(path))': use an absolute file path")
        }
        let bytes: Data
        switch (fields["content"], fields["source"]) {
        case (let content?, nil):
            bytes = Data(try content.string().utf8)
        case (nil, let source?):
            let text = try source.string()
            bytes = try source.checked { try readSource(try LabRelativePath(text, folderOf: node.file), namedIn: node.file) }
        case (nil, nil):
            throw node.error("give content or source")
        case (_?, _?):
            throw node.error("give content or source, not both")
        }
        var command = "mkdir -p \(shellQuoted((path as NSString).deletingLastPathComponent)) && echo \(bytes.base64EncodedString()) | base64 -d > \(shellQuoted(path))"
        if let modeNode = fields["mode"] {
            let mode = try modeNode.rawScalar()
            guard (3...4).contains(mode.count), mode.allSatisfy({ ("0"..."7").contains($0) }) else {
                throw modeNode.error("invalid mode '\(ResourceName.printable(mode))': use octal, e.g. \"0755\"")
            }
            command += " && chmod \(mode) \(shellQuoted(path))"
        }
        return command
    }

    /// The most a `source` may hold: user-data is for configuration and scripts, and it travels in the seed.
    static let maximumSourceSize = 1 << 20

    /// Reads a `source` file. vmctl runs as root and copies what it reads into a guest, so a lab may only
    /// send what sits in the folder of the file that names it (or below): no absolute path, no `..` or
    /// symlink that ends outside, and only a regular file. The check is made on what was actually opened
    /// (`/proc/self/fd`), so a path swapped for a symlink between the check and the read is caught too.
    static func readSource(_ source: LabRelativePath, namedIn file: String) throws -> Data {
        let base = (file as NSString).deletingLastPathComponent
        guard let folder = realPath(base.isEmpty ? "." : base) else { throw VMCtlError(.notFound, "cannot resolve the folder of \(file)") }
        let outside = VMCtlError.invalid("source '\(source)' is outside \(folder): a lab sends only files in the folder of the file that names them")
        guard let resolved = realPath((folder as NSString).appendingPathComponent(source.text)) else {
            throw VMCtlError.system("cannot read source '\(source)' (relative to \(folder))")
        }
        guard resolved.hasPrefix(folder == "/" ? "/" : folder + "/") else { throw outside }
        let fd = open(resolved, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw VMCtlError.system("cannot read source '\(source)'")
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        guard let opened = realPath("/proc/self/fd/\(fd)"), opened.hasPrefix(folder == "/" ? "/" : folder + "/") else { throw outside }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw VMCtlError.invalid("source '\(source)' is not a regular file")
        }
        guard info.st_size <= maximumSourceSize else {
            throw VMCtlError.invalid("source '\(source)' has \(info.st_size) bytes; user-data files take at most \(maximumSourceSize)")
        }
        do {
            let data = try handle.readToEnd() ?? Data()
            guard data.count <= maximumSourceSize else { throw VMCtlError.invalid("source '\(source)' grew past \(maximumSourceSize) bytes while read") }
            return data
        } catch let error as VMCtlError {
            throw error
        } catch {
            throw VMCtlError.failed("cannot read source '\(source)': \(error.localizedDescription)", cause: error)
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func hasControlCharacter(_ text: String, allowingTab: Bool) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control && !(allowingTab && $0 == "\t") }
    }

    static func shellQuoted(_ text: String) -> String {
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/._-+=:,".contains($0)) }) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

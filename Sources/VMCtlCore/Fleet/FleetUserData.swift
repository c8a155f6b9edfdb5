import Foundation

/// A Domain's `user-data`: files to write and commands to run on first boot, turned into NoCloud `runcmd`
/// lines (the tiny image and cloud-init both run them). Each file becomes one line that decodes its base64
/// content, so any bytes survive the trip through YAML and the guest's shell.
enum FleetUserData {
    static func commands(_ node: FleetNode, document: FleetNode) throws -> [String] {
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
            guard !command.trimmingSpaces.isEmpty else { throw item.error("empty command") }
            commands.append(command)
        }
        return commands
    }

    static func fileCommand(_ node: FleetNode) throws -> String {
        let fields = try node.mapping(allowed: ["path", "content", "source", "mode"])
        let pathNode = try fields.required("path")
        let path = try pathNode.string()
        guard path.hasPrefix("/"), !path.hasSuffix("/"), !path.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw pathNode.error("invalid path '\(ResourceName.printable(path))': use an absolute file path")
        }
        let bytes: Data
        switch (fields["content"], fields["source"]) {
        case (let content?, nil):
            bytes = Data(try content.string().utf8)
        case (nil, let source?):
            let relative = try source.string()
            let base = (node.file as NSString).deletingLastPathComponent
            let absolute = relative.hasPrefix("/") ? relative : ((base.isEmpty ? "." : base) as NSString).appendingPathComponent(relative)
            guard let data = FileManager.default.contents(atPath: absolute) else {
                throw source.error("cannot read '\(relative)' (relative to \(node.file))")
            }
            bytes = data
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

    static func shellQuoted(_ text: String) -> String {
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/._-+=:,".contains($0)) }) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

import Foundation

/// vmctl's embedded default guest: built from Debian packages by the script shipped in vmctl's resources.
public enum TinyImage {
    public static let name = "tiny"

    static var buildScript: String? {
        Bundle.module.path(forResource: "build", ofType: "sh", inDirectory: "tiny-image")
    }

    /// Builds the image file locally (the script caches downloaded packages) and returns its path.
    public static func build(output: String) throws -> String {
        guard let script = buildScript else { throw VMCtlError.failed("the tiny image build script is missing from vmctl's resources") }
        try FileManager.default.createDirectory(
            atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        // The build downloads Debian packages: it needs the host's own network, not libvirtd's namespace.
        let result = try CallerNamespace.run {
            try ProcessRunner.capture("bash", [script, output], passthroughStderr: true)
        }
        guard result.status == 0 else { throw VMCtlError.failed("building the tiny image failed (exit status \(result.status))") }
        return output
    }

    public static var defaultOutput: String { VMCtlPaths.stateDirectory + "/images/tiny.qcow2" }

    /// The tiny image from the pool, building and importing it on first use.
    public static func ensure(in storage: Storage, notice: (String) -> Void) throws -> ImageInfo {
        if let existing = try storage.existingImage(named: name) { return existing.info }
        notice("image '\(name)' is not in the pool yet: building it from Debian packages (once)")
        let file = try build(output: defaultOutput)
        return try storage.importImage(file: try LocalFilePath(file, what: "image file"), name: name)
    }
}

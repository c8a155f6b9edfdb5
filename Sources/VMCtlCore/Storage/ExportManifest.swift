import Foundation

/// `vmctl.json`, the first member of an export archive: what the VM was, so that `vmctl import` can
/// define it again, and what the disk member holds. Versioned: a reader refuses versions it does not know
/// rather than guess at fields.
public struct ExportManifest: Codable, Sendable, Equatable {
    public static let formatName = "vmctl-export"
    public static let currentVersion = 1
    public static let fileName = "vmctl.json"
    public static let checksumsFileName = "SHA256SUMS"
    /// The manifest and SHA256SUMS are small text; anything bigger is not a vmctl archive.
    static let largestTextMember = 1 << 20

    /// Always `vmctl-export`: tells this JSON from other tools' files.
    public var format: String
    public var version: Int
    /// When the export was made (ISO 8601, UTC).
    public var exported: String
    public var vm: VM
    /// The disks in archive order; version 1 has exactly one, the root disk.
    public var disks: [Disk]

    public struct VM: Codable, Sendable, Equatable {
        public var name: String
        /// The image the VM was created from (recorded, not needed: the disk is flattened).
        public var image: String
        public var flavor: String?
        public var cpus: Int
        public var memory: ByteSize
        /// The root disk's size as the guest sees it.
        public var disk: ByteSize
        public var network: String
        /// `kvm` or `tcg`, as the VM was defined (import chooses again for its own host).
        public var accelerator: String?

        public init(name: String, image: String, flavor: String?, cpus: Int, memory: ByteSize, disk: ByteSize,
                    network: String, accelerator: String?) {
            self.name = name
            self.image = image
            self.flavor = flavor
            self.cpus = cpus
            self.memory = memory
            self.disk = disk
            self.network = network
            self.accelerator = accelerator
        }
    }

    public struct Disk: Codable, Sendable, Equatable {
        public static let rootFileName = "disk-root.qcow2"

        public var role: String
        /// The archive member holding the disk.
        public var file: String
        public var format: String
        /// Size the guest sees, in bytes.
        public var virtualSize: UInt64
        /// Size of the member (the qcow2 file), in bytes.
        public var size: UInt64

        public init(role: String, file: String, format: String, virtualSize: UInt64, size: UInt64) {
            self.role = role
            self.file = file
            self.format = format
            self.virtualSize = virtualSize
            self.size = size
        }
    }

    public init(exported: String, vm: VM, disks: [Disk]) {
        self.format = Self.formatName
        self.version = Self.currentVersion
        self.exported = exported
        self.vm = vm
        self.disks = disks
    }

    public var rootDisk: Disk? { disks.first { $0.role == "root" } }

    /// Checks everything an import relies on; the manifest comes from a file anyone may have edited.
    public func validate() throws {
        guard format == Self.formatName else {
            throw VMCtlError.invalid("not a vmctl export: \(Self.fileName) has format '\(ResourceName.printable(format))'")
        }
        guard version == Self.currentVersion else {
            let newer = version > Self.currentVersion ? " (made by a newer vmctl)" : ""
            throw VMCtlError.invalid("unsupported export version \(version)\(newer); this vmctl reads version \(Self.currentVersion)")
        }
        try ResourceName.validate(vm.name, kind: "VM")
        try ResourceName.validate(vm.image, kind: "image")
        try ResourceName.validate(vm.network, kind: "network")
        if let flavor = vm.flavor { try ResourceName.validate(flavor, kind: "flavor") }
        do {
            try VMSizeLimits.check(cpus: vm.cpus)
            try VMSizeLimits.check(memory: vm.memory)
            try VMSizeLimits.check(disk: vm.disk)
        } catch let error as VMCtlError {
            throw error.prefixed("invalid export")
        }
        guard disks.count == 1, let root = rootDisk else {
            throw VMCtlError.invalid("invalid export: expected exactly one disk, the root disk (found \(disks.count))")
        }
        guard root.file == Disk.rootFileName, root.format == "qcow2" else {
            throw VMCtlError.invalid("invalid export: root disk must be a qcow2 member named \(Disk.rootFileName)")
        }
        guard root.size > 0, root.virtualSize > 0, root.virtualSize <= vm.disk.bytes else {
            throw VMCtlError.invalid("invalid export: root disk sizes (\(root.size) bytes, virtual \(root.virtualSize)) do not fit disk \(vm.disk)")
        }
    }

    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0a]
    }

    /// Decodes and validates.
    public static func decode(_ bytes: [UInt8]) throws -> ExportManifest {
        let manifest: ExportManifest
        do {
            manifest = try JSONDecoder().decode(ExportManifest.self, from: Data(bytes))
        } catch let error as VMCtlError {
            throw error.prefixed("invalid \(fileName)")
        } catch {
            throw VMCtlError.invalid("invalid \(fileName): not the JSON vmctl writes (\(Self.describe(error)))")
        }
        try manifest.validate()
        return manifest
    }

    /// A decoding error in one line: which key, and what was wrong with it.
    private static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing '\((context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type at '\(path(context))'"
        case .dataCorrupted(let context):
            guard !path(context).isEmpty else { return "malformed JSON" }
            // vmctl's own decoders say what is wrong with the value; Foundation's describe the parser.
            let detail = context.underlyingError == nil && !context.debugDescription.isEmpty ? ": \(context.debugDescription)" : ""
            return "bad value at '\(path(context))'\(detail)"
        @unknown default:
            return "malformed"
        }
    }
}

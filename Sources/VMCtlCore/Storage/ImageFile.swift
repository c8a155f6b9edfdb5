import Foundation
import Libvirt
import LibvirtXML

/// A local disk image file, as far as vmctl needs to know before uploading it.
public struct ImageFile: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable { case qcow2, raw }

    public let format: Format
    public let virtualSize: UInt64
    public let fileSize: UInt64

    public static func inspect(_ file: LocalFilePath) throws -> ImageFile {
        let path = file.text
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw VMCtlError.invalid("cannot read image file '\(path)'")
        }
        defer { try? handle.close() }
        let header = [UInt8](handle.readData(ofLength: 512))
        let fileSize = (try? handle.seekToEnd()) ?? 0
        guard fileSize > 0 else { throw VMCtlError.invalid("image file '\(path)' is empty") }
        return try inspect(header: header, fileSize: fileSize, path: path)
    }

    static func inspect(header: [UInt8], fileSize: UInt64, path: String) throws -> ImageFile {
        func bigEndian(_ offset: Int, _ count: Int) -> UInt64 {
            header[offset..<offset + count].reduce(0) { $0 << 8 | UInt64($1) }
        }
        if header.count >= 32, header[0..<4] == [0x51, 0x46, 0x49, 0xfb] {
            // A backing file would point at a path on this machine that the pool does not have.
            guard bigEndian(8, 8) == 0 else {
                throw VMCtlError.invalid("'\(path)' is a qcow2 overlay with a backing file; flatten it first (qemu-img convert -O qcow2)")
            }
            return ImageFile(format: .qcow2, virtualSize: bigEndian(24, 8), fileSize: fileSize)
        }
        let otherFormats: [(String, [UInt8], Int)] = [
            ("VMDK", Array("KDMV".utf8), 0), ("VDI", [0x7f, 0x10, 0xda, 0xbe], 64), ("VHDX", Array("vhdxfile".utf8), 0),
        ]
        for (name, magic, offset) in otherFormats where header.count >= offset + magic.count
            && Array(header[offset..<offset + magic.count]) == magic {
            throw VMCtlError.invalid("'\(path)' is a \(name) image; convert it first: qemu-img convert -O qcow2 '\(path)' out.qcow2")
        }
        return ImageFile(format: .raw, virtualSize: fileSize, fileSize: fileSize)
    }
}

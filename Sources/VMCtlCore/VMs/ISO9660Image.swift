/// Writes a minimal single-directory ISO 9660 image, enough for a NoCloud `cidata` seed.
///
/// Names are written as plain ISO 9660 identifiers (upper case, `;1` version); Linux's isofs shows them
/// lower case without the version, which is how cloud-init and the tiny guest look for `meta-data`.
public enum ISO9660Image {
    public static let sectorSize = 2048

    public struct File: Sendable, Equatable {
        public let name: String
        public let contents: [UInt8]
        public init(name: String, contents: [UInt8]) {
            self.name = name
            self.contents = contents
        }
    }

    public struct Timestamp: Sendable, Equatable {
        public let year, month, day, hour, minute, second: Int
        public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
            (self.year, self.month, self.day, self.hour, self.minute, self.second) = (year, month, day, hour, minute, second)
        }
    }

    public static func make(volumeID: String, files: [File], timestamp: Timestamp) -> [UInt8] {
        let files = files.sorted { identifier($0.name).lexicographicallyPrecedes(identifier($1.name)) }
        let rootSector = 20
        let rootRecords = [directoryRecord(identifier: [0], sector: rootSector, length: sectorSize, isDirectory: true, timestamp: timestamp),
                           directoryRecord(identifier: [1], sector: rootSector, length: sectorSize, isDirectory: true, timestamp: timestamp)]
        var nextSector = rootSector + 1
        var fileRecords: [[UInt8]] = []
        var fileSectors: [Int] = []
        for file in files {
            fileSectors.append(nextSector)
            fileRecords.append(directoryRecord(
                identifier: identifier(file.name) + Array(";1".utf8), sector: nextSector,
                length: file.contents.count, isDirectory: false, timestamp: timestamp))
            nextSector += max(1, sectorsFor(file.contents.count))
        }
        let totalSectors = nextSector
        var image = [UInt8](repeating: 0, count: totalSectors * sectorSize)

        // Sector 16: primary volume descriptor.
        var pvd = [UInt8](repeating: 0, count: sectorSize)
        pvd[0] = 1
        pvd.replace(at: 1, with: Array("CD001".utf8))
        pvd[6] = 1
        pvd.replace(at: 8, with: padded(Array("LINUX".utf8), to: 32))
        pvd.replace(at: 40, with: padded(Array(volumeID.uppercased().utf8), to: 32))
        pvd.replace(at: 80, with: bothEndian32(totalSectors))
        pvd.replace(at: 120, with: bothEndian16(1))
        pvd.replace(at: 124, with: bothEndian16(1))
        pvd.replace(at: 128, with: bothEndian16(sectorSize))
        let pathTableSize = 10
        pvd.replace(at: 132, with: bothEndian32(pathTableSize))
        pvd.replace(at: 140, with: littleEndian32(18))
        pvd.replace(at: 148, with: bigEndian32(19))
        pvd.replace(at: 156, with: rootRecords[0])
        for (offset, length) in [(190, 128), (318, 128), (446, 128), (574, 128), (702, 37), (739, 37), (776, 37)] {
            pvd.replace(at: offset, with: [UInt8](repeating: 0x20, count: length))
        }
        let dateDigits = Array(String(format4(timestamp.year) + two(timestamp.month) + two(timestamp.day)
            + two(timestamp.hour) + two(timestamp.minute) + two(timestamp.second) + "00").utf8) + [0]
        let unspecified = [UInt8](repeating: UInt8(ascii: "0"), count: 16) + [0]
        pvd.replace(at: 813, with: dateDigits)
        pvd.replace(at: 830, with: dateDigits)
        pvd.replace(at: 847, with: unspecified)
        pvd.replace(at: 864, with: unspecified)
        pvd[881] = 1
        image.replace(at: 16 * sectorSize, with: pvd)

        // Sector 17: descriptor set terminator.
        image.replace(at: 17 * sectorSize, with: [255] + Array("CD001".utf8) + [1])

        // Sectors 18 and 19: the path tables (little- and big-endian), holding only the root.
        image.replace(at: 18 * sectorSize, with: [1, 0] + littleEndian32(rootSector) + [1, 0, 0, 0])
        image.replace(at: 19 * sectorSize, with: [1, 0] + bigEndian32(rootSector) + [0, 1, 0, 0])

        var directory = rootRecords.flatMap { $0 }
        for record in fileRecords { directory += record }
        precondition(directory.count <= sectorSize, "seed directory must fit one sector")
        image.replace(at: rootSector * sectorSize, with: directory)
        for (file, sector) in zip(files, fileSectors) {
            image.replace(at: sector * sectorSize, with: file.contents)
        }
        return image
    }

    /// ISO 9660 d-characters: upper-case letters, digits and `_`; vmctl's file names also keep `-` and `.`,
    /// which Linux reads back unchanged.
    static func identifier(_ name: String) -> [UInt8] {
        Array(name.uppercased().utf8.map { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."): byte
            default: UInt8(ascii: "_")
            }
        })
    }

    private static func directoryRecord(identifier: [UInt8], sector: Int, length: Int, isDirectory: Bool,
                                        timestamp: Timestamp) -> [UInt8] {
        let recordLength = 33 + identifier.count + (identifier.count % 2 == 0 ? 1 : 0)
        var record = [UInt8](repeating: 0, count: recordLength)
        record[0] = UInt8(recordLength)
        record.replace(at: 2, with: bothEndian32(sector))
        record.replace(at: 10, with: bothEndian32(length))
        record.replace(at: 18, with: [UInt8(timestamp.year - 1900), UInt8(timestamp.month), UInt8(timestamp.day),
                                      UInt8(timestamp.hour), UInt8(timestamp.minute), UInt8(timestamp.second), 0])
        record[25] = isDirectory ? 2 : 0
        record.replace(at: 28, with: bothEndian16(1))
        record[32] = UInt8(identifier.count)
        record.replace(at: 33, with: identifier)
        return record
    }

    private static func sectorsFor(_ bytes: Int) -> Int { (bytes + sectorSize - 1) / sectorSize }
    private static func padded(_ bytes: [UInt8], to length: Int) -> [UInt8] {
        Array((bytes + [UInt8](repeating: 0x20, count: length)).prefix(length))
    }
    private static func littleEndian32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> ($0 * 8)) & 0xff) } }
    private static func bigEndian32(_ v: Int) -> [UInt8] { littleEndian32(v).reversed() }
    private static func bothEndian32(_ v: Int) -> [UInt8] { littleEndian32(v) + bigEndian32(v) }
    private static func bothEndian16(_ v: Int) -> [UInt8] {
        [UInt8(v & 0xff), UInt8(v >> 8), UInt8(v >> 8), UInt8(v & 0xff)]
    }
    private static func two(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v % 100) }
    private static func format4(_ v: Int) -> String { String(String(v).suffix(4)) }
}

extension Array where Element == UInt8 {
    mutating func replace(at offset: Int, with bytes: [UInt8]) {
        replaceSubrange(offset..<(offset + bytes.count), with: bytes)
    }
}

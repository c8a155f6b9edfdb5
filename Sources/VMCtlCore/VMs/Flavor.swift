/// Instance sizes, as in the OpenStack flavor table of the labs vmctl serves.
public struct Flavor: Sendable, Equatable, Codable {
    public let name: String
    public let cpus: Int
    public let memory: ByteSize
    public let disk: ByteSize

    public static let all: [Flavor] = [
        Flavor(name: "nano", cpus: 1, memory: .mebibytes(512), disk: .gibibytes(8)),
        Flavor(name: "tiny", cpus: 1, memory: .mebibytes(512), disk: .gibibytes(10)),
        Flavor(name: "small", cpus: 1, memory: .gibibytes(4), disk: .gibibytes(20)),
        Flavor(name: "small2", cpus: 1, memory: .gibibytes(1), disk: .gibibytes(20)),
        Flavor(name: "medium", cpus: 2, memory: .gibibytes(2), disk: .gibibytes(40)),
        Flavor(name: "large", cpus: 2, memory: .gibibytes(4), disk: .gibibytes(40)),
        Flavor(name: "xlarge", cpus: 4, memory: .gibibytes(8), disk: .gibibytes(40)),
    ]

    public static func named(_ name: String) throws -> Flavor {
        guard let flavor = all.first(where: { $0.name == name }) else {
            throw VMCtlError.notFound("flavor", name, known: all.map(\.name))
        }
        return flavor
    }
}

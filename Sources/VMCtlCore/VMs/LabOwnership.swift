import LibvirtXML

/// Which lab owns an object, and (for VMs) a digest of what the lab asked for that cannot change in place.
public struct LabOwnership: Codable, Sendable, Equatable {
    public var name: String
    public var digest: String

    public init(name: String, digest: String = "") {
        self.name = name
        self.digest = digest
    }
}

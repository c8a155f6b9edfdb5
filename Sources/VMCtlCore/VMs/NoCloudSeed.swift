/// The NoCloud data source (meta-data + user-data) that cloud-init and the tiny image read at boot.
public struct NoCloudSeed: Sendable, Equatable {
    public var instanceID: String
    public var hostname: String
    public var sshAuthorizedKeys: [String]
    public var runCommands: [String]

    public init(instanceID: String, hostname: String, sshAuthorizedKeys: [String], runCommands: [String]) {
        self.instanceID = instanceID
        self.hostname = hostname
        self.sshAuthorizedKeys = sshAuthorizedKeys
        self.runCommands = runCommands
    }

    public var metaData: String {
        "instance-id: \(Self.quoted(instanceID))\nlocal-hostname: \(Self.quoted(hostname))\n"
    }

    /// A `#cloud-config` document. Every scalar is single-quoted so that no value can change the YAML structure.
    public var userData: String {
        var lines = ["#cloud-config", "hostname: \(Self.quoted(hostname))",
                     // cloud images disable root logins by default; vmctl ssh logs in as root everywhere.
                     "disable_root: false"]
        if !sshAuthorizedKeys.isEmpty {
            lines.append("ssh_authorized_keys:")
            lines += sshAuthorizedKeys.map { "  - \(Self.quoted($0))" }
        }
        if !runCommands.isEmpty {
            lines.append("runcmd:")
            lines += runCommands.map { "  - \(Self.quoted($0))" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public func isoImage(timestamp: ISO9660Image.Timestamp) -> [UInt8] {
        ISO9660Image.make(volumeID: "cidata", files: [
            .init(name: "meta-data", contents: Array(metaData.utf8)),
            .init(name: "user-data", contents: Array(userData.utf8)),
        ], timestamp: timestamp)
    }

    /// YAML single-quoted scalar: the only escape is a doubled quote. Line breaks (CR and LF) become spaces
    /// because a folded line break would change the value and the tiny guest reads the seed line by line;
    /// specs reject them before this point. Works on Unicode scalars, not Characters: a quote followed by a
    /// combining mark is one Character that is not "'", and left undoubled it would end the scalar early.
    static func quoted(_ value: String) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append("'")
        for scalar in value.unicodeScalars {
            switch scalar {
            case "'": scalars.append(contentsOf: "''".unicodeScalars)
            case "\n", "\r": scalars.append(" ")
            default: scalars.append(scalar)
            }
        }
        scalars.append("'")
        return String(scalars)
    }
}

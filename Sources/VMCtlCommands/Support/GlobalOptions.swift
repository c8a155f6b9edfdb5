import ArgumentParser
import Foundation
import VMCtlCore

/// Options every command that talks to libvirt accepts.
struct ConnectionOptions: ParsableArguments {
    @Option(name: [.customShort("c"), .customLong("connect")],
            help: ArgumentHelp("libvirt URI (default: $VMCTL_CONNECT, else qemu:///system).", valueName: "uri"))
    var uri: String?

    /// The URI to open, checked by `LibvirtURI` (the one place its rules live); an error says where it came from.
    func resolvedURI() throws -> String {
        if let uri { return try Self.checked(uri, from: "--connect") }
        if let environment = ProcessInfo.processInfo.environment["VMCTL_CONNECT"] {
            return try Self.checked(environment, from: "$VMCTL_CONNECT")
        }
        return Session.defaultURI
    }

    static func checked(_ text: String, from source: String) throws -> String {
        do {
            return try LibvirtURI(text).text
        } catch let error as VMCtlError {
            throw error.prefixed(source)
        }
    }

    func session() throws -> Session { try Session(uri: resolvedURI()) }
}

struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false
}

/// A number of seconds given to `option`: read as text and checked by `Seconds`, so `inf`, `nan` and
/// negative values get one error line naming the option (ArgumentParser's own `Double` accepts them all).
func seconds(_ text: String, for option: String) throws -> Seconds {
    do {
        return try Seconds(parsing: text)
    } catch let error as VMCtlError {
        throw error.prefixed(option)
    }
}

/// Arguments naming an existing VM.
struct VMName: ParsableArguments {
    @Argument(help: "The VM's name.")
    var name: String

    func validate() throws { try ResourceName.validate(name, kind: "VM") }
}

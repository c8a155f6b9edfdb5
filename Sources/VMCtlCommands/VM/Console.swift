import ArgumentParser
import Foundation
import VMCtlCore

struct Console: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print what the VM wrote to its serial console (kernel and boot messages, login prompt).")

    @OptionGroup var vm: VMName
    @Option(help: "Only the last N lines.") var tail: Int?
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if let tail { _ = try lineCount(tail) }
    }

    func run() throws {
        let session = try connection.session()
        let details = try VMs(session: session).details(vm.name)
        guard let path = details.serialLog else { throw VMCtlError(.notFound, "VM '\(vm.name)' has no serial log") }
        guard session.isLocal else {
            throw VMCtlError(.unavailable, "the serial log is on the libvirt host (\(path)); use 'virsh -c \(session.uri) console \(vm.name)'")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VMCtlError(.notFound, "no serial output from '\(vm.name)' yet (\(path))")
        }
        var text = String(decoding: data, as: UTF8.self)
        if let tail = try tail.map(lineCount) {
            text = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(tail.value + 1).joined(separator: "\n")
        }
        StandardOutput.write(Data(text.utf8))
    }

    /// The error names the option, as for seconds.
    private func lineCount(_ value: Int) throws -> Count {
        do {
            return try Count(value, of: "lines")
        } catch let error as VMCtlError {
            throw error.prefixed("--tail")
        }
    }
}

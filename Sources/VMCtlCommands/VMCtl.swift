import ArgumentParser
import Foundation
import VMCtlCore

/// The `vmctl` command line. Errors from vmctl itself print as one `Error: …` line with exit status 1;
/// argument-syntax errors add ArgumentParser's usage hint (exit status 64).
public struct VMCtl: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vmctl",
        abstract: "VirtualBox-style VMs, networks and labs on a KVM/QEMU host, through libvirt.",
        subcommands: [
            Doctor.self, ImageCommand.self, Create.self, Start.self, Stop.self, Reboot.self, Delete.self,
            Clone.self, Resize.self, Export.self, Import.self,
            NetCommand.self, ForwardCommand.self, FloatingIPCommand.self, SecurityGroupCommand.self, RouterCommand.self,
            List.self, Info.self, IP.self, Console.self, SSH.self,
            SnapshotCommand.self,
            Plan.self, Apply.self, Destroy.self, Status.self,
        ]
    )

    public init() {}

    /// After a command succeeded: output that could not be written (stdout closed early, a full disk) is an
    /// error, not a success that printed nothing.
    public static func exitUnlessOutputWritten() {
        guard StandardOutput.failed else { return }
        let reason = String(cString: strerror(errno == 0 ? EIO : errno))
        FileHandle.standardError.write(Data("Error: cannot write the output: \(reason)\n".utf8))
        Glibc.exit(1)
    }
}

import Foundation
import Testing
@testable import VMCtlCore

/// Where the project's shell code lives: the host scripts, the image build script and the tiny guest's own files.
enum GuestFiles {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let tinyImage = repositoryRoot.appendingPathComponent("Sources/VMCtlCore/Resources/tiny-image")
    static let rootfs = tinyImage.appendingPathComponent("rootfs")
    static let seedParser = rootfs.appendingPathComponent("etc/vmctl/seed.awk")
    static let guestLibrary = rootfs.appendingPathComponent("etc/vmctl/lib.sh")

    /// Regular files under `directory`, as paths relative to it, sorted.
    static func files(under directory: URL) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory.path) else { return [] }
        var found: [String] = []
        while let relative = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent(relative).path,
                                              isDirectory: &isDirectory), !isDirectory.boolValue {
                found.append(relative)
            }
        }
        return found.sorted()
    }

    /// A shell script by name (`.sh`) or by its `#!` line; awk programs and data files are not.
    static func isShellScript(_ file: URL) -> Bool {
        if file.pathExtension == "sh" { return true }
        guard let handle = FileHandle(forReadingAtPath: file.path) else { return false }
        defer { try? handle.close() }
        let firstLine = String(decoding: handle.readData(ofLength: 128), as: UTF8.self).prefix { $0 != "\n" }
        return firstLine.hasPrefix("#!") && ["/sh", "/bash", "env bash", "env sh"].contains { firstLine.hasSuffix($0) }
    }

    static func shellScripts(under relativeDirectory: String) -> [URL] {
        let directory = repositoryRoot.appendingPathComponent(relativeDirectory)
        return files(under: directory).map { directory.appendingPathComponent($0) }.filter(isShellScript)
    }

    /// Every shell file the project ships or runs: scripts/, image/, build.sh and the guest's rootfs.
    static var allShellScripts: [URL] {
        ["scripts", "image", "Sources/VMCtlCore/Resources/tiny-image"].flatMap(shellScripts(under:))
    }

    /// The first directory in PATH holding an executable `tool`.
    static func executable(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// GUEST_FILES in build.sh: each guest file's path and the mode it gets in the image.
    static func modesListedByBuildScript() throws -> [String: String] {
        let script = try String(contentsOf: tinyImage.appendingPathComponent("build.sh"), encoding: .utf8)
        let lines = script.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(of: "readonly GUEST_FILES=(") else { return [:] }
        var modes: [String: String] = [:]
        for line in lines[(start + 1)...] {
            let entry = line.trimmingSpaces
            if entry == ")" { break }
            guard !entry.hasPrefix("#"), let word = entry.split(separator: " ").first else { continue }
            let parts = word.split(separator: ":").map(String.init)
            if parts.count == 2 { modes[parts[0]] = parts[1] }
        }
        return modes
    }
}

@Suite struct GuestFilesTests {
    /// Lints as the scripts run: bash where the #! says bash, POSIX sh for the busybox guest (its files say
    /// /bin/sh or carry a `shell=sh` directive). A missing shellcheck is a failure, not a skip: the bootstrap
    /// installs it, and a lint that silently does not run protects nothing.
    @Test func shellcheckFindsNothingInTheProjectsShellCode() throws {
        let shellcheck = try #require(GuestFiles.executable("shellcheck"),
                                      "shellcheck is not installed: apt-get install shellcheck (scripts/bootstrap-host.sh installs it)")
        let scripts = GuestFiles.allShellScripts
        let names = Set(scripts.map(\.lastPathComponent))
        // The discovery itself must not quietly lose the files this test exists for.
        for expected in ["build.sh", "rcS", "rcK", "lib.sh", "udhcpc.script", "vmctl-sshd", "vmctl-runcmd",
                         "vmctl-hotplug", "power-button", "bootstrap-host.sh", "install-vmctl.sh", "hostns"] {
            #expect(names.contains(expected), "\(expected) is not among the shell files found")
        }
        let result = try ProcessRunner.capture(shellcheck, ["--norc", "--external-sources", "--format=gcc"] + scripts.map(\.path))
        #expect(result.status == 0, "shellcheck findings:\n\(result.output)\(result.errorOutput)")
    }

    /// build.sh copies exactly what GUEST_FILES lists (and refuses unlisted files at build time); this catches
    /// a file added or removed on one side only before anyone builds an image.
    @Test func buildScriptListsEveryGuestFileWithAMode() throws {
        let modes = try GuestFiles.modesListedByBuildScript()
        #expect(Set(modes.keys) == Set(GuestFiles.files(under: GuestFiles.rootfs)))
        #expect(modes["etc/shadow"] == "0600")
        for (path, mode) in modes where GuestFiles.isShellScript(GuestFiles.rootfs.appendingPathComponent(path))
            && path.hasSuffix(".sh") == false {
            #expect(mode == "0755", "\(path) is a script with a #! line but is not made executable")
        }
    }

    /// TinyImage runs build.sh from vmctl's resource bundle, and build.sh finds rootfs/ next to itself: the
    /// bundle must carry the guest's files beside the script.
    @Test func theResourceBundleShipsTheGuestFilesBesideBuildScript() throws {
        let script = try #require(TinyImage.buildScript)
        let bundled = URL(fileURLWithPath: script).deletingLastPathComponent().appendingPathComponent("rootfs")
        #expect(GuestFiles.files(under: bundled) == GuestFiles.files(under: GuestFiles.rootfs))
        for file in GuestFiles.files(under: GuestFiles.rootfs) {
            #expect(FileManager.default.contentsEqual(atPath: bundled.appendingPathComponent(file).path,
                                                      andPath: GuestFiles.rootfs.appendingPathComponent(file).path),
                    "\(file) in the resource bundle differs from the source tree")
        }
    }
}

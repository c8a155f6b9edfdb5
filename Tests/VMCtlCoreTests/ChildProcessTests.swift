import Foundation
import Testing
@testable import VMCtlCore

/// The spawner every host tool goes through (nft, qemu-img, ssh-keygen, …) and that the integration tests use.
struct ChildProcessTests {
    @Test func exitCodesAndSignalsAreReportedAsAShellWould() throws {
        #expect(try ChildProcess(["true"]).finish().status == 0)
        #expect(try ChildProcess(["sh", "-c", "exit 3"]).finish().status == 3)
        let sleeper = try ChildProcess(["sleep", "30"])
        #expect(sleeper.isRunning)
        sleeper.signal(SIGTERM)
        #expect(sleeper.wait() == 128 + SIGTERM)
        #expect(!sleeper.isRunning)
    }

    @Test func bothPipesAreDrainedTogetherSoAChattyToolCannotBlock() throws {
        // 1 MiB on each stream, far beyond a pipe's buffer: reading one stream to its end first would deadlock.
        let result = try ChildProcess(["sh", "-c", "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2; echo done >&2"]).finish()
        #expect(result.status == 0)
        #expect(result.output.count == 1_048_576)
        #expect(result.errorOutput.count == 1_048_576 + 5)
    }

    @Test func inputIsFedWhileOutputIsRead() throws {
        let input = Data((0..<2_000_000).map { UInt8(truncatingIfNeeded: $0) })
        let result = try ChildProcess(["cat"], input: input).finish()
        #expect(result.status == 0)
        #expect(result.output == input)
    }

    @Test func aChildThatStopsReadingItsInputDoesNotEndTheParent() throws {
        // 4 MiB for a child that reads nothing: the write fails with EPIPE and raises SIGPIPE here.
        let result = try ChildProcess(["sh", "-c", "exit 7"], input: Data(count: 4 << 20)).finish()
        #expect(result.status == 7)
    }

    @Test func childrenGetDefaultSignalDispositions() throws {
        // Under an inherited ignored SIGPIPE, `yes` would loop forever on a closed pipe.
        let result = try ChildProcess(["sh", "-c", "yes | head -c 10 >/dev/null; echo finished"]).finish()
        #expect(String(decoding: result.output, as: UTF8.self) == "finished\n")
    }

    @Test func environmentIsMergedAndAMissingToolIsNamed() throws {
        let result = try ProcessRunner.capture("sh", ["-c", "echo $VMCTL_CHILD_TEST"], environment: ["VMCTL_CHILD_TEST": "set"])
        #expect(result.output == "set\n")
        #expect(throws: VMCtlError.self) { try ChildProcess(["vmctl-no-such-tool"]) }
    }
}

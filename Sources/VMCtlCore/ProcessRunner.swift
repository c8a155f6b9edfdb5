import Foundation

/// Runs host tools with argument vectors (never through a shell), capturing their output.
public enum ProcessRunner {
    public struct Result: Sendable {
        public let status: Int32
        public let output: String
        public let errorOutput: String
    }

    @discardableResult
    public static func run(_ tool: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
        let result = try capture(tool, arguments, environment: environment)
        guard result.status == 0 else {
            let detail = result.errorOutput.split(whereSeparator: \.isNewline).last.map(String.init) ?? "exit status \(result.status)"
            throw VMCtlError("\(tool) failed: \(detail)")
        }
        return result.output
    }

    public static func capture(_ tool: String, _ arguments: [String], environment: [String: String]? = nil,
                               passthroughStderr: Bool = false) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = passthroughStderr ? FileHandle.standardError : stderr
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw VMCtlError("cannot run \(tool): \(error.localizedDescription)")
        }
        // Read both pipes before waiting, so a chatty tool cannot block on a full pipe.
        let errorData = passthroughStderr ? Data() : stderr.fileHandleForReading.readDataToEndOfFile()
        let outputData = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      output: String(decoding: outputData, as: UTF8.self),
                      errorOutput: String(decoding: errorData, as: UTF8.self))
    }
}

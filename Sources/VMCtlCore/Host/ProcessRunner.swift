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
            throw VMCtlError.failed("\(tool) failed: \(detail)")
        }
        return result.output
    }

    public static func capture(_ tool: String, _ arguments: [String], environment: [String: String]? = nil,
                               input: String? = nil, passthroughStderr: Bool = false) throws -> Result {
        let child = try ChildProcess([tool] + arguments, environment: environment, input: input.map { Data($0.utf8) },
                                     stderr: passthroughStderr ? .inherit : .capture)
        let result = child.finish()
        return Result(status: result.status,
                      output: String(decoding: result.output, as: UTF8.self),
                      errorOutput: String(decoding: result.errorOutput, as: UTF8.self))
    }
}

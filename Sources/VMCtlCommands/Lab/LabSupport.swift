import ArgumentParser
import Foundation
import VMCtlCore

/// The lab files every fleet command takes, and the connection used where a document names none.
struct LabFiles: ParsableArguments {
    @Argument(help: ArgumentHelp("The lab's files or folders (a Lab document and what it includes).", valueName: "path"))
    var paths: [String]

    @OptionGroup var connection: ConnectionOptions

    func load() throws -> Lab { try LabLoader.load(paths: paths, defaultURI: connection.resolvedURI()) }

    func sessions(for lab: Lab) throws -> [String: Session] {
        try Labs.sessions(for: lab) { try Session(uri: $0) }
    }
}

enum LabText {
    /// `+ domain sum  create: tiny, 1 vCPU, 256M, fl-calc 10.100.0.11`
    static func lines(_ plan: LabPlan, showUnchanged: Bool, multipleHosts: Bool) -> [String] {
        let shown = plan.actions.filter { showUnchanged || $0.operation != .unchanged }
        let width = shown.map { "\($0.kind.label) \($0.name)".count }.max() ?? 0
        return shown.map { action in
            let subject = "\(action.kind.label) \(action.name)".padding(toLength: width, withPad: " ", startingAt: 0)
            var line = "\(action.operation.symbol.padding(toLength: 3, withPad: " ", startingAt: 0)) \(subject)  \(action.operation.rawValue)"
            if !action.changes.isEmpty { line += ": " + action.changes.joined(separator: "; ") }
            if multipleHosts { line += "  [\(action.uri)]" }
            return line
        }
    }

    static func json(_ plan: LabPlan) -> PlanJSON {
        PlanJSON(lab: plan.lab, pending: plan.pending, actions: plan.actions.map {
            .init(kind: $0.kind.label, name: $0.name, uri: $0.uri, operation: $0.operation.rawValue, changes: $0.changes)
        })
    }

    struct PlanJSON: Codable {
        struct Action: Codable {
            let kind: String
            let name: String
            let uri: String
            let operation: String
            let changes: [String]
        }

        let lab: String
        let pending: Int
        let actions: [Action]
    }
}

/// Progress of apply and destroy: on a terminal, one line per object redrawn in place; under CI or in a log,
/// one plain line per event.
final class LabProgressView: @unchecked Sendable {
    private let lock = NSLock()
    private let live: Bool
    private var order: [String] = []
    private var status: [String: String] = [:]
    private var drawn = 0

    init() {
        live = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["CI"] == nil
            && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    func handle(_ event: LabEvent) {
        lock.withLock {
            let mark = switch event.kind {
            case .progress: "…"
            case .done: "✓"
            case .failed: "✗"
            }
            if !live || order.count >= 40 {
                let time = String(format: "%6.1fs", event.elapsed)
                let tag = event.kind == .failed ? "FAILED " : ""
                FileHandle.standardError.write(Data("[\(time)] \(event.subject): \(tag)\(event.message)\n".utf8))
                return
            }
            if status[event.subject] == nil { order.append(event.subject) }
            status[event.subject] = "\(mark) \(event.message)"
            redraw()
        }
    }

    private func redraw() {
        let width = order.map(\.count).max() ?? 0
        var text = drawn > 0 ? "\u{1B}[\(drawn)F" : ""
        for subject in order {
            let line = "  \(subject.padding(toLength: width, withPad: " ", startingAt: 0))  \(status[subject] ?? "")"
            text += "\u{1B}[2K" + String(line.prefix(terminalWidth - 1)) + "\n"
        }
        drawn = order.count
        FileHandle.standardError.write(Data(text.utf8))
    }

    private var terminalWidth: Int {
        var size = winsize()
        return ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 20 ? Int(size.ws_col) : 120
    }
}

enum LabOutcome {
    /// Prints every failure together and exits non-zero when there was one.
    static func finish(_ result: LabApplyResult, verb: String) throws {
        let plan = result.plan
        let failed = Set(result.failures.map(\.subject))
        let counts = [LabOperation.create, .update, .replace, .delete].map { operation in
            "\(plan.actions.filter { $0.operation == operation && !failed.contains(LabApplier.subject(of: $0)) }.count) \(operation.pastTense)"
        }
        Output.line("\(verb) \(plan.lab): \(counts.joined(separator: ", ")), \(plan.count(.unchanged)) unchanged"
                    + (result.failures.isEmpty ? "" : ", \(failed.count) failed") + String(format: " (%.1f s)", result.seconds))
        guard !result.failures.isEmpty else { return }
        FileHandle.standardError.write(Data("\(result.failures.count) failure\(result.failures.count == 1 ? "" : "s"):\n".utf8))
        for failure in result.failures {
            FileHandle.standardError.write(Data("  \(failure.subject): \(failure.message)\n".utf8))
        }
        FileHandle.standardError.write(Data("Error: \(verb) of lab '\(plan.lab)' did not finish; run it again to retry what failed\n".utf8))
        throw ExitCode.failure
    }
}

extension LabOperation {
    var pastTense: String {
        switch self {
        case .create: "created"
        case .update: "updated"
        case .replace: "replaced"
        case .delete: "deleted"
        case .unchanged: "unchanged"
        }
    }
}

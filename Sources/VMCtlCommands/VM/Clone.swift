import ArgumentParser
import VMCtlCore

struct Clone: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Clone a VM: a linked (instant, copy-on-write) or full copy with a new identity.",
        usage: "vmctl clone SOURCE NEW [--linked | --full] [--start]\n  vmctl clone --flatten NAME",
        discussion: """
            A linked clone is an overlay on the source's disk: the source then stays read-only (vmctl refuses \
            to start or delete it) until the clones are made independent with --flatten.
            """)

    @Argument(help: "The VM to clone (or, with --flatten, the VM to make independent).") var source: String
    @Argument(help: "The new VM's name.") var name: String?
    @Flag(help: "Overlay on the source's disk (the default; instant).") var linked = false
    @Flag(help: "Independent copy of the disk.") var full = false
    @Flag(help: "Make a linked clone's disk independent of its source.") var flatten = false
    @Option(help: "Clone the source as it was at this (internal) snapshot; works on a running source.") var snapshot: String?
    @Flag(help: "Boot the clone once made.") var start = false
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    var mode: CloneMode? { full ? .full : (linked ? .linked : nil) }

    func validate() throws {
        try ResourceName.validate(source, kind: "VM")
        if flatten {
            guard name == nil, !linked, !full, !start, snapshot == nil else {
                throw ValidationError("--flatten takes only the clone's name: vmctl clone --flatten NAME")
            }
            return
        }
        guard let name else { throw ValidationError("missing the new VM's name: vmctl clone SOURCE NEW") }
        try ResourceName.validate(name, kind: "VM")
        guard !(linked && full) else { throw ValidationError("choose one of --linked and --full") }
        if let snapshot {
            try ResourceName.validate(snapshot, kind: "snapshot")
            guard !linked else { throw ValidationError("a clone from a snapshot is a full copy: drop --linked") }
        }
    }

    func run() throws {
        let clones = Clones(session: try connection.session(), notice: Output.notice)
        if flatten {
            try clones.flatten(source, progress: Progress(label: "flattening \(source)"))
            return Output.line("\(source) no longer depends on another VM's disk")
        }
        guard let name else { return }
        let summary = try clones.clone(source: source, as: name, mode: mode, start: start, snapshot: snapshot,
                                       progress: Progress(label: "copying \(source)'s disk"))
        if output.json { return try Output.json(summary) }
        let kind = snapshot.map { "full, from snapshot \($0)" } ?? (mode ?? .linked).rawValue
        Output.line("cloned \(source) to \(summary.name) (\(kind))\(start ? ", started" : "")")
    }
}

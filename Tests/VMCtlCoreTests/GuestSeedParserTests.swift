import Foundation
import Testing
@testable import VMCtlCore

/// The seed as the tiny guest reads it: NoCloudSeed's files go through the guest's own lib.sh `parse_seed`
/// and seed.awk, run by busybox as in the guest, and what comes out must be what was put in.
enum GuestSeedParser {
    /// parse_seed calls `awk -f /etc/vmctl/seed.awk`; a shell function (which wins over busybox's applets)
    /// points that one argument at the source tree's copy and leaves the rest of lib.sh as the guest runs it.
    static let driver = #"""
        lib=$1 seed_awk=$2; shift 2
        . "$lib"
        awk() {
          for a; do shift; [ "$a" = /etc/vmctl/seed.awk ] && a=$seed_awk; set -- "$@" "$a"; done
          busybox awk "$@"
        }
        parse_seed "$1" "$2"
        """#

    struct Output {
        let files: [String: String]
        let warnings: String
    }

    static func parse(_ seed: NoCloudSeed) throws -> Output {
        let busybox = try #require(GuestFiles.executable("busybox"),
                                   "busybox is not installed: apt-get install busybox-static (scripts/bootstrap-host.sh installs it)")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("vmctl-seed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let seedDirectory = work.appendingPathComponent("seed"), outDirectory = work.appendingPathComponent("out")
        for directory in [seedDirectory, outDirectory] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        try Data(seed.metaData.utf8).write(to: seedDirectory.appendingPathComponent("meta-data"))
        try Data(seed.userData.utf8).write(to: seedDirectory.appendingPathComponent("user-data"))
        // The guest's rcS exports only PATH and HOME: no locale, so awk and tr see bytes.
        let result = try ProcessRunner.capture(
            busybox, ["sh", "-c", driver, "parse-seed", GuestFiles.guestLibrary.path, GuestFiles.seedParser.path,
                      seedDirectory.path, outDirectory.path],
            environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": work.path])
        #expect(result.status == 0, "parse_seed failed: \(result.errorOutput)")
        var files: [String: String] = [:]
        for name in GuestFiles.files(under: outDirectory) {
            files[name] = String(decoding: try Data(contentsOf: outDirectory.appendingPathComponent(name)), as: UTF8.self)
        }
        return Output(files: files, warnings: result.errorOutput)
    }

    /// What the writer promises to carry: the value, with each CR and LF turned into a space.
    static func carried(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.map { $0 == "\n" || $0 == "\r" ? " " : $0 }))
    }

    /// lib.sh keeps letters, digits, '-' and '.' of the hostname, at most 63 of them, and falls back to "tiny".
    static func guestHostname(_ value: String) -> String {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-".unicodeScalars)
        let kept = String(String.UnicodeScalarView(value.unicodeScalars.filter(allowed.contains).prefix(63)))
        return kept.isEmpty ? "tiny" : kept
    }

    static func lines(_ values: [String]) -> String {
        // An empty item is no command and no key: the guest skips it.
        values.map(carried).filter { !$0.isEmpty }.map { $0 + "\n" }.joined()
    }

    static func expectParsedAsGiven(_ seed: NoCloudSeed, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let output = try parse(seed)
        let hostname = carried(seed.hostname), instanceID = carried(seed.instanceID)
        var expected = [
            "meta.instance-id": instanceID + "\n",
            "meta.local-hostname": hostname + "\n",
            "authorized_keys": lines(seed.sshAuthorizedKeys),
            "runcmd.sh": lines(seed.runCommands),
            "hostname": guestHostname(hostname) + "\n",
            "instance-id": (instanceID.isEmpty ? "none" : instanceID) + "\n",
        ]
        if !hostname.isEmpty { expected["user.hostname"] = hostname + "\n" }
        for name in Set(expected.keys).union(output.files.keys).sorted() {
            #expect(output.files[name] == expected[name], "\(name)", sourceLocation: sourceLocation)
        }
        #expect(output.warnings == "", "the guest warned about vmctl's own seed", sourceLocation: sourceLocation)
    }
}

@Suite struct GuestSeedParserTests {
    static let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostileTestKey"

    @Test func anOrdinarySeed() throws {
        try GuestSeedParser.expectParsedAsGiven(NoCloudSeed(
            instanceID: "i-1234", hostname: "web-1", sshAuthorizedKeys: [Self.key + " vmctl"],
            runCommands: ["echo 'it''s' > /data/x", "echo second"]))
    }

    /// Shell syntax in values must arrive as text: the guest writes runcmd items into a script, so they are
    /// meant to run, but exactly as given, not as the parser or rcS would re-interpret them.
    static let hostileRuns = [
        "echo 'single' \"double\" '' \"\" ''''", "'", "''", "\"", "it's", "ends with '",
        #"back\slash \\ \\\ \n \t \' \" \001"#, #"printf '%s\n' "a\"b""#,
        "echo $(id) `id` ${HOME} $1 $@ !! ~root", "$(reboot)", "`reboot`",
        "echo a: b", "key: value", "hostname: evil", "runcmd:", "ssh_authorized_keys:", ": x", "a:b:c",
        "echo a #not a comment", "#starts like a comment", "# ", "echo http://h:8080/p#frag",
        "-n", "-e", "-", "--", "- item", "-rf /tmp/x", "  - nested", "---", "...",
        "[ -f /data/x ] || touch /data/x", "[a, b]", "{a: b}", "| block", "> /data/redirected echo x",
        "&anchor", "*alias", "!tag", "%YAML 1.1", "? key", "@at", "`", "\u{7F}",
        "  leading and trailing spaces  ", "\ttabs\t", "a\tb",
        "é ü ß", "漢字 かな", "🎉👍🏽", "Ω≈ç√∫", "e\u{301}", "it'\u{301}s", "'\u{301}", "\u{200F}rtl\u{200E}",
        "nbsp\u{A0}here", "zero\u{200B}width", "nel\u{85}ls\u{2028}ps\u{2029}", "\u{FEFF}bom",
    ]

    @Test func hostileRunLinesArriveAsGiven() throws {
        try GuestSeedParser.expectParsedAsGiven(NoCloudSeed(
            instanceID: "i-1", hostname: "web-1", sshAuthorizedKeys: [Self.key], runCommands: Self.hostileRuns))
    }

    @Test func hostileRunLinesArriveAsGivenOneAtATime() throws {
        for run in Self.hostileRuns {
            try GuestSeedParser.expectParsedAsGiven(NoCloudSeed(
                instanceID: "i-1", hostname: "web-1", sshAuthorizedKeys: [], runCommands: [run]))
        }
    }

    @Test func hostileKeyCommentsArriveAsGiven() throws {
        let comments = ["it's", "\"quoted\"", #"back\slash"#, "$(id) `id`", "a: b", "#x", "a #b", "-n", "é 漢字 🎉",
                        "'\u{301}", "[x]", "| x", "> x", "  spaced  "]
        try GuestSeedParser.expectParsedAsGiven(NoCloudSeed(
            instanceID: "i-1", hostname: "web-1",
            sshAuthorizedKeys: comments.map { Self.key + " " + $0 } + ["[ " + Self.key + " ]"], runCommands: []))
    }

    @Test func hostileHostnamesAndInstanceIDsArriveAsGiven() throws {
        let values = ["it's", "''", "\"x\"", #"a\b"#, "$(reboot)", "`id`", "a: b", "a #b", "#x", "-n", "-e",
                      "- x", "[x]", "| x", "> x", "é-漢字-🎉", "'\u{301}", "  spaced  ", "\ttab",
                      "web-1.example", String(repeating: "a", count: 80), "a.b-c_d e"]
        for value in values {
            try GuestSeedParser.expectParsedAsGiven(NoCloudSeed(
                instanceID: value, hostname: value, sshAuthorizedKeys: [], runCommands: []))
            try GuestSeedParser.expectParsedAsGiven(NoCloudSeed(
                instanceID: "i-" + value, hostname: "h" + value, sshAuthorizedKeys: [], runCommands: []))
        }
    }

    /// Specs reject line breaks before the writer; if one gets through, it must not start a new YAML line
    /// (a new key or list item) in the guest or in cloud-init.
    @Test func lineBreaksCannotInjectKeysOrItems() throws {
        let attempts = ["a\nhostname: evil", "a\r\nhostname: evil", "a\rhostname: evil", "'\n  - injected",
                        "x\n#cloud-config", "\nruncmd:\n  - reboot", "\r\n", "\n", "a\u{2028}b"]
        for attempt in attempts {
            try GuestSeedParser.expectParsedAsGiven(NoCloudSeed(
                instanceID: "i-" + attempt, hostname: "h" + attempt, sshAuthorizedKeys: [Self.key + " " + attempt],
                runCommands: [attempt, "echo last"]))
        }
        #expect(!NoCloudSeed.quoted("a\r\nb\rc\nd").contains { $0.isNewline && $0 != "\u{2028}" })
    }

    @Test func emptyValuesFallBackToTheGuestsDefaults() throws {
        try GuestSeedParser.expectParsedAsGiven(NoCloudSeed(
            instanceID: "", hostname: "", sshAuthorizedKeys: [""], runCommands: ["", "echo x", ""]))
    }

    /// "'" followed by a combining mark is a single Character; the writer must still double the quote.
    @Test func aQuoteFollowedByACombiningMarkIsStillEscaped() {
        #expect(NoCloudSeed.quoted("it'\u{301}s") == "'it''\u{301}s'")
        #expect(NoCloudSeed.quoted("a\r\nb") == "'a  b'")
    }
}

/// A libvirt connection URI vmctl agrees to open: it names a host, never a program or a file.
///
/// vmctl runs as root, and a URI reaches it from places other people may write (a lab file's `uri:`,
/// `$VMCTL_CONNECT`). libvirt's remote driver turns parts of a URI into programs and files it uses on this
/// machine: the `ext` transport runs `command=`; `ssh` runs `command=` as its ssh binary and hands the host
/// name to ssh's argv (a host `-oProxyCommand=…` is an option); `socket=`, `keyfile=`, `pkipath=`,
/// `known_hosts=` point at local files; `netcat=` and `proxy=` pick what runs on the far side; `no_verify=`
/// and `tls_priority=` turn off checks; `name=` re-targets the remote open; `test:///PATH` reads a file.
/// So the URI is parsed here, strictly, against an allow-list, before libvirt sees it:
///
/// - drivers: `qemu` (path `/system`), and `test` with path `/default` (libvirt's built-in test host);
/// - local: no transport or `+unix`, no host; `qemu:///session` is refused: vmctl's networks, bridges and
///   firewall belong to the system instance, and a session daemon would be spawned as root;
/// - remote: `+ssh`, `+tcp`, `+tls` (or no transport, which libvirt takes as TLS) with a host: a DNS name,
///   an IPv4 address or a bracketed IPv6 address, an optional `user@` and `:port`;
/// - parameters: only `no_tty=0|1` (ssh) and `mode=auto|direct|legacy` (local, ssh); everything else,
///   `%`-escapes and `#` fragments included, is refused.
public struct LibvirtURI: Sendable, Hashable, CustomStringConvertible {
    public enum Transport: String, Sendable {
        case unix, ssh, tcp, tls
    }

    /// The URI exactly as given (and as libvirt gets it).
    public let text: String
    public let driver: String
    /// nil: none written (local without a host, TLS with one).
    public let transport: Transport?
    public let user: String?
    /// nil: this machine.
    public let host: String?
    public let port: Int?
    public let path: String
    public let parameters: [(key: String, value: String)]

    public var description: String { text }

    /// libvirtd runs on this machine: host files and guest bridges are reachable.
    public var isLocal: Bool { host == nil }

    public static func == (lhs: LibvirtURI, rhs: LibvirtURI) -> Bool { lhs.text == rhs.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }

    static let examples = "use qemu:///system, qemu+ssh://[USER@]HOST/system, qemu+tcp://HOST/system or qemu+tls://HOST/system"

    public init(_ text: String) throws {
        func refuse(_ reason: String) -> VMCtlError {
            VMCtlError.invalid("invalid libvirt URI '\(ResourceName.printable(text))': \(reason) (\(Self.examples))")
        }
        guard let separator = text.range(of: "://") else { throw refuse("expected DRIVER[+TRANSPORT]://[HOST]/PATH") }
        let scheme = text[..<separator.lowerBound]
        let schemeParts = scheme.split(separator: "+", omittingEmptySubsequences: false)
        guard (1...2).contains(schemeParts.count) else { throw refuse("expected DRIVER[+TRANSPORT]") }
        let driver = String(schemeParts[0])
        guard ["qemu", "test"].contains(driver) else { throw refuse("driver '\(driver)' is not supported (qemu)") }
        var transport: Transport?
        if schemeParts.count == 2 {
            let name = String(schemeParts[1])
            guard let known = Transport(rawValue: name) else {
                throw refuse("transport '\(name)' is not allowed: vmctl connects over unix, ssh, tcp or tls only")
            }
            transport = known
        }

        var rest = text[separator.upperBound...]
        guard !rest.contains("#") else { throw refuse("a '#' fragment is not allowed") }
        guard !rest.contains("%") else { throw refuse("'%' escapes are not allowed") }
        var query: Substring?
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw refuse("no path (e.g. /system)") }
        var authority = rest[..<slash]
        let path = String(rest[slash...])

        var user: String?
        if let at = authority.lastIndex(of: "@") {
            let name = String(authority[..<at])
            guard Self.isPlainName(name) else { throw refuse("invalid user name '\(ResourceName.printable(name))'") }
            user = name
            authority = authority[authority.index(after: at)...]
        }
        var port: Int?
        var hostText = authority
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw refuse("unclosed '[' in the host") }
            hostText = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw refuse("unexpected text after the host") }
                port = try Self.port(after.dropFirst(), refuse)
            }
        } else if let colon = authority.firstIndex(of: ":") {
            hostText = authority[..<colon]
            port = try Self.port(authority[authority.index(after: colon)...], refuse)
        }
        let host = hostText.isEmpty ? nil : String(hostText)
        if let host, !Self.isHost(host) { throw refuse("invalid host '\(ResourceName.printable(host))'") }

        if host == nil {
            guard transport == nil || transport == .unix else {
                throw refuse("transport '\(transport!.rawValue)' needs a host")
            }
            guard user == nil, port == nil else { throw refuse("a user or port needs a host") }
        } else if transport == .unix {
            throw refuse("transport 'unix' is local and takes no host")
        }

        switch driver {
        case "test":
            guard path == "/default" else { throw refuse("the test driver is allowed only as test:///default") }
        default:
            if path == "/session" {
                throw refuse("qemu:///session is not supported: vmctl's networks and firewall live in the system instance")
            }
            guard path == "/system" else { throw refuse("path '\(ResourceName.printable(path))' is not /system") }
        }

        let route: Route = host == nil ? .local : transport == .ssh ? .ssh : transport == .tcp ? .tcp : .tls
        var parameters: [(key: String, value: String)] = []
        if let query {
            for item in query.split(separator: "&", omittingEmptySubsequences: false) {
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(pair[0])
                let value = pair.count == 2 ? String(pair[1]) : ""
                guard let allowed = Self.allowedParameters[key] else {
                    throw refuse("parameter '\(ResourceName.printable(key))' is not allowed (allowed: no_tty, mode)")
                }
                guard allowed.values.contains(value) else {
                    throw refuse("parameter \(key) takes \(allowed.values.joined(separator: ", "))")
                }
                guard allowed.routes.contains(route) else { throw refuse("parameter \(key) does not apply to this transport") }
                guard !parameters.contains(where: { $0.key == key }) else { throw refuse("parameter \(key) is given twice") }
                parameters.append((key, value))
            }
        }

        self.text = text
        self.driver = driver
        self.transport = transport
        self.user = user
        self.host = host
        self.port = port
        self.path = path
        self.parameters = parameters
    }

    /// The only query parameters allowed: neither names a program nor a file, nor turns a check off.
    static let allowedParameters: [String: (values: [String], routes: [Route])] = [
        "no_tty": (["0", "1"], [.ssh]),
        "mode": (["auto", "direct", "legacy"], [.local, .ssh]),
    ]

    /// How libvirt reaches the daemon: a host without a transport means TLS.
    enum Route { case local, ssh, tcp, tls }

    static func port(_ text: Substring, _ refuse: (String) -> VMCtlError) throws -> Int {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text),
              (1...65535).contains(value) else {
            throw refuse("invalid port '\(ResourceName.printable(String(text)))': use 1 to 65535")
        }
        return value
    }

    /// A user name ssh gets with `-l`: letters, digits, `.`, `_`, `-`, not starting with `-`.
    static func isPlainName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 32 && !text.hasPrefix("-")
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// A DNS name (labels of letters, digits and `-`, not starting with `-`), an IPv4 address, or `[IPv6]`.
    static func isHost(_ text: String) -> Bool {
        if text.hasPrefix("[") {
            let inner = text.dropFirst().dropLast()
            return text.hasSuffix("]") && inner.contains(":") && inner.count <= 45
                && inner.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        return DNSName.isName(text)
    }
}

import Foundation

/// Reads lab files into a `Lab`, strictly: unknown keys, wrong types, duplicate names, two members
/// claiming one address, more members than a network holds, and references to nothing the lab defines are
/// errors naming the file, the line and the key path. References to objects that may already exist on the
/// host (a network made by hand, the `default` group) are checked by the plan, against what is there.
public enum LabLoader {
    public static let version = 1

    /// Loads the files and folders named (folders: every `.yaml`/`.yml` file in them, recursively, by name),
    /// following the Lab document's `include`. Exactly one Lab document must be among them.
    public static func load(paths: [String], defaultURI: String) throws -> Lab {
        guard !paths.isEmpty else { throw VMCtlError.invalid("give the lab's files or folders (e.g. labs/calculator.yaml)") }
        var queue: [String] = []
        for path in paths { queue += try files(at: path, from: nil) }
        var seen: Set<String> = []
        var documents: [LabNode] = []
        var index = 0
        var labDocument: LabNode?
        var readFiles: [String] = []
        while index < queue.count {
            let absolute = queue[index]
            index += 1
            guard seen.insert(absolute).inserted else { continue }
            guard seen.count <= maximumFiles else { throw VMCtlError.invalid("a lab reads at most \(maximumFiles) files") }
            let shown = display(absolute)
            readFiles.append(shown)
            let text = try read(absolute, shown: shown)
            for document in try LabYAML.documents(text: text, file: shown) {
                if case .scalar = document.node, document.node.tagName == .null { continue }  // an empty document
                let header = try document.mapping(allowed: ["version", "kind", "name", "uri", "spec"])
                let versionNode = try header.required("version")
                let version = try versionNode.int()
                guard version == Self.version else {
                    throw versionNode.error("unsupported version \(version) (this vmctl reads version \(Self.version))")
                }
                let kindNode = try header.required("kind")
                let kindText = try kindNode.string()
                guard let kind = LabKind(rawValue: kindText) else {
                    throw kindNode.error("unknown kind '\(ResourceName.printable(kindText))' (expected one of: \(LabKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                if kind == .lab {
                    if let labDocument {
                        throw document.error("a second Lab document (the first is at \(labDocument.origin)); a lab is one Lab document and the files it names")
                    }
                    labDocument = document
                    let spec = try header["spec"]?.mapping(allowed: ["include", "description"])
                    _ = try spec?["description"]?.string()
                    for (position, include) in try (spec?["include"]?.sequenceOrSingle() ?? []).enumerated() {
                        let relative = try include.string()
                        let base = (absolute as NSString).deletingLastPathComponent
                        do {
                            queue += try files(at: relative, from: base)
                        } catch let failure as VMCtlError {
                            throw include.error("\(failure.description) (include[\(position)])", code: failure.code)
                        }
                    }
                }
                documents.append(document)
            }
        }
        guard let labDocument else {
            throw VMCtlError.invalid("\(readFiles.joined(separator: ", ")): no Lab document: a lab is named by one document with 'kind: Lab' (see labs/)")
        }
        let labHeader = try labDocument.mapping(allowed: ["version", "kind", "name", "uri", "spec"])
        let labName = try labHeader.required("name").name(kind: "lab")
        let labURI = try labHeader["uri"].map(uri) ?? defaultURI
        var lab = Lab(name: labName, origin: labDocument.origin, files: readFiles, defaultURI: labURI)
        for document in documents where document.path.isEmpty {
            try parse(document, into: &lab)
        }
        try validate(lab)
        return lab
    }

    // MARK: Files

    /// The lab files at `path` (a file, or a folder's `.yaml`/`.yml` files recursively), absolute.
    static func files(at path: String, from base: String?) throws -> [String] {
        let absolute: String
        if path.hasPrefix("/") {
            absolute = path
        } else {
            absolute = ((base ?? FileManager.default.currentDirectoryPath) as NSString).appendingPathComponent(path)
        }
        let standardized = (absolute as NSString).standardizingPath
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: standardized, isDirectory: &isDirectory) else {
            throw VMCtlError(.notFound, "\(display(standardized)): no such file or folder")
        }
        let isYAML = { (name: String) in name.hasSuffix(".yaml") || name.hasSuffix(".yml") }
        guard isDirectory.boolValue else {
            // An include names lab files only: a lab is no way to read the host's other files.
            if base != nil && !isYAML(standardized) { throw VMCtlError.invalid("\(display(standardized)): not a .yaml or .yml file") }
            return [standardized]
        }
        guard let enumerator = FileManager.default.enumerator(atPath: standardized) else { return [] }
        var found: [String] = []
        var seen = 0
        while let entry = enumerator.nextObject() as? String {
            seen += 1
            guard seen <= maximumFiles * 10 else { throw VMCtlError.invalid("\(display(standardized)): too many entries for a lab folder") }
            if isYAML(entry) { found.append((standardized as NSString).appendingPathComponent(entry)) }
            guard found.count <= maximumFiles else {
                throw VMCtlError.invalid("\(display(standardized)): more than \(maximumFiles) lab files")
            }
        }
        return found.sorted()
    }

    /// The most a lab file may hold, and how many files one lab may read: a lab is text a person writes,
    /// and an `include` of a device (`/dev/zero`) or of `/` must end in an error, not in a hang.
    static let maximumFileSize = 1 << 20
    static let maximumFiles = 1000

    static func read(_ absolute: String, shown: String) throws -> String {
        let fd = open(absolute, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw VMCtlError.system("\(shown): cannot read the file") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { throw VMCtlError.invalid("\(shown): not a regular file") }
        guard info.st_size <= maximumFileSize else {
            throw VMCtlError.invalid("\(shown): \(info.st_size) bytes; a lab file takes at most \(maximumFileSize)")
        }
        let data: Data
        do {
            data = try handle.readToEnd() ?? Data()
        } catch {
            throw VMCtlError.failed("\(shown): cannot read the file: \(error.localizedDescription)", cause: error)
        }
        guard data.count <= maximumFileSize, let text = String(data: data, encoding: .utf8) else {
            throw VMCtlError.invalid("\(shown): not UTF-8 text of at most \(maximumFileSize) bytes")
        }
        return text
    }

    /// A path as errors show it: relative to the working directory when inside it.
    static func display(_ absolute: String) -> String {
        let cwd = (FileManager.default.currentDirectoryPath as NSString).standardizingPath
        if absolute.hasPrefix(cwd + "/") { return String(absolute.dropFirst(cwd.count + 1)) }
        return absolute
    }

    /// A lab names hosts, never programs or files: `LibvirtURI` decides, and its error gets the file and line.
    static func uri(_ node: LabNode) throws -> String {
        let text = try node.string()
        return try node.checked { try LibvirtURI(text).text }
    }

    // MARK: Documents

    static func parse(_ document: LabNode, into lab: inout Lab) throws {
        let header = try document.mapping(allowed: ["version", "kind", "name", "uri", "spec"])
        let kind = LabKind(rawValue: try header.required("kind").string())!
        if kind == .lab { return }
        let nameNode = try header.required("name")
        let uri = try header["uri"].map(uri) ?? lab.defaultURI
        let spec = try header.required("spec")
        switch kind {
        case .lab:
            return
        case .network:
            let name = try nameNode.name(kind: "network")
            if name == ControlStore.networkName {
                throw nameNode.error("'\(name)' is reserved: vmctl keeps its pools, groups and routers in the network of that name")
            }
            lab.networks.append(try network(name: name, spec: spec, uri: uri, lab: lab.name, origin: document.origin))
        case .router:
            let name = try nameNode.name(kind: "router")
            let fields = try spec.mapping(allowed: ["networks"])
            let networks = try (fields["networks"]?.sequence() ?? []).map { LabReference(name: try $0.name(kind: "network"), origin: $0.origin) }
            for (index, network) in networks.enumerated() where networks[..<index].contains(where: { $0.name == network.name }) {
                throw network.origin.error("network '\(network.name)' is listed twice")
            }
            lab.routers.append(LabRouter(name: name, uri: uri, networks: networks, origin: document.origin))
        case .securityGroup:
            let name = try nameNode.name(kind: "security group")
            let fields = try spec.mapping(allowed: ["rules"])
            var rules: [LabRule] = []
            var origins: [LabOrigin] = []
            for ruleNode in try fields["rules"]?.sequence() ?? [] {
                rules.append(try rule(ruleNode))
                origins.append(ruleNode.origin)
            }
            lab.securityGroups.append(LabSecurityGroup(name: name, uri: uri, rules: rules, ruleOrigins: origins, origin: document.origin))
        case .floatingIPPool:
            let name = try nameNode.name(kind: "pool")
            let fields = try spec.mapping(allowed: ["interface", "range"])
            let interfaceNode = try fields.required("interface")
            let interface = try interfaceNode.string()
            try interfaceNode.checked { try InterfaceName.validate(interface, kind: "interface") }
            let rangeNode = try fields.required("range")
            let range = try rangeNode.checked { try IPv4Range(parsing: try rangeNode.string(), what: "address range") }
            try rangeNode.checked { try FloatingIPs.checkPoolRange(range) }
            lab.pools.append(LabPool(name: name, uri: uri, interface: interface, range: range, origin: document.origin))
        case .domain:
            let name = try nameNode.name(kind: "VM")
            lab.members += try members(name: name, spec: spec, uri: uri, document: document)
        }
    }

    static func network(name: String, spec: LabNode, uri: String, lab: String, origin: LabOrigin) throws -> LabNetwork {
        let fields = try spec.mapping(allowed: ["subnet", "gateway", "dhcp", "mode", "domain"])
        let subnetNode = try fields.required("subnet")
        let subnet = try subnetNode.string()
        _ = try subnetNode.checked { try NetworkSpec.parseSubnet(subnet) }
        let gateway = try fields["gateway"]?.string()
        if let node = fields["gateway"], let gateway, IPv4Address(gateway) == nil { throw node.error("invalid gateway '\(gateway)': not an IPv4 address") }
        let dhcp = try fields["dhcp"]?.string()
        if let node = fields["dhcp"], let dhcp { _ = try node.checked { try IPv4Range(parsing: dhcp, what: "DHCP range") } }
        var mode = NetworkMode.nat
        if let node = fields["mode"] {
            let text = try node.string()
            guard let parsed = NetworkMode(rawValue: text) else { throw node.error("invalid mode '\(text)': use nat, routed or isolated") }
            mode = parsed
        }
        let domain = try fields["domain"]?.string()
        var networkSpec = try spec.checked {
            try NetworkSpec(name: name, subnet: subnet, gateway: gateway, dhcp: dhcp, mode: mode, domain: domain)
        }
        networkSpec.lab = lab
        return LabNetwork(spec: networkSpec, uri: uri, origin: origin)
    }

    static func rule(_ node: LabNode) throws -> LabRule {
        let fields = try node.mapping(allowed: ["proto", "port", "ports", "remote", "remote-group"])
        let protoNode = try fields.required("proto")
        let protoText = try protoNode.string()
        guard let proto = SecurityGroup.RuleProtocol(rawValue: protoText) else {
            throw protoNode.error("invalid protocol '\(protoText)': use tcp, udp or icmp")
        }
        if fields["port"] != nil && fields["ports"] != nil { throw node.error("give port or ports, not both") }
        var ports: PortRange?
        if let portNode = fields["port"] ?? fields["ports"] {
            let text = try portNode.rawScalar()
            ports = try portNode.checked { () throws -> PortRange in
                let range = try PortRange(parsing: text)
                try proto.check(ports: range)
                return range
            }
        }
        if fields["remote"] != nil && fields["remote-group"] != nil { throw node.error("give remote or remote-group, not both") }
        var remote: SecurityGroup.Remote?
        if let remoteNode = fields["remote"] {
            let text = try remoteNode.string()
            remote = .cidr(try remoteNode.checked { try IPv4Subnet(networkCIDR: text, what: "remote CIDR") })
        }
        if let groupNode = fields["remote-group"] { remote = .group(try groupNode.name(kind: "security group")) }
        return LabRule(proto: proto, ports: ports, remote: remote)
    }

    static let domainKeys = ["count", "image", "flavor", "cpus", "memory", "disk", "accel", "state", "networks", "forwards",
                             "floating-ip", "security-groups", "ssh-keys", "user-data", "ready"]

    static func members(name: String, spec: LabNode, uri: String, document: LabNode) throws -> [LabVM] {
        let fields = try spec.mapping(allowed: domainKeys)
        let count = try Self.count(fields)
        let image = try fields["image"]?.name(kind: "image") ?? VMSpec.defaultImage
        let flavor = try fields["flavor"].map { node in
            let text = try node.string()
            _ = try node.checked { try Flavor.named(text) }
            return text
        }
        let cpus = try fields["cpus"].map { node in
            let value = try node.int()
            try node.checked { try VMSizeLimits.check(cpus: value) }
            return value
        }
        let memory = try size(fields["memory"], { try VMSizeLimits.check(memory: $0) })
        let disk = try size(fields["disk"], { try VMSizeLimits.check(disk: $0) })
        let accel = try fields["accel"].map { node in
            let text = try node.string()
            guard let value = AcceleratorPreference(rawValue: text) else { throw node.error("invalid accel '\(text)': use auto, kvm or tcg") }
            return value
        } ?? .auto
        let state = try fields["state"].map { node in
            let text = try node.string()
            guard let value = LabPowerState(rawValue: text) else { throw node.error("invalid state '\(text)': use running or stopped") }
            return value
        } ?? .running
        let (network, address, addressOrigin) = try Self.network(fields["networks"], spec: spec, count: count)
        let (forwards, forwardOrigins) = try Self.forwards(fields["forwards"], count: count)
        let floatingPool = try fields["floating-ip"].map(Self.floatingPool)
        let groups = try Self.securityGroups(fields["security-groups"])
        let sshKeys = try Self.sshKeys(fields["ssh-keys"])
        let runCommands = try fields["user-data"].map { try LabUserData.commands($0, document: document) } ?? []
        var readiness: [LabReadiness] = [.ip]
        if let node = fields["ready"] {
            readiness = try node.sequenceOrSingle().map { item in try item.checked { try LabReadiness(parsing: try item.string()) } }
        }

        let base = try VMSpec(name: name, image: image, flavor: flavor, cpus: cpus, memory: memory, disk: disk)
        let names = count.map { count in (1...count).map { "\(name)-\($0)" } } ?? [name]
        return try names.map { memberName in
            try (fields["count"] ?? spec).checked { try ResourceName.validate(memberName, kind: "VM") }
            return LabVM(
                name: memberName, uri: uri, domain: name, origin: document.origin, image: image, flavor: flavor,
                cpus: base.cpus, memory: base.memory, disk: base.disk, accel: accel, state: state, network: network,
                address: address, addressOrigin: addressOrigin, forwards: forwards, forwardOrigins: forwardOrigins,
                floatingPool: floatingPool, securityGroups: groups, sshKeys: sshKeys, runCommands: runCommands,
                readiness: readiness)
        }
    }

    static func count(_ fields: LabMapping) throws -> Int? {
        guard let node = fields["count"] else { return nil }
        let value = try node.int()
        guard (1...1000).contains(value) else { throw node.error("invalid count \(value): use 1 to 1000") }
        return value
    }

    static func size(_ node: LabNode?, _ check: @escaping (ByteSize) throws -> Void) throws -> ByteSize? {
        guard let node else { return nil }
        return try node.checked {
            let value = try ByteSize(parsing: try node.rawScalar())
            try check(value)
            return value
        }
    }

    /// One interface for now; the list leaves room for more.
    static func network(_ node: LabNode?, spec: LabNode, count: Int?) throws -> (LabReference, IPv4Address?, LabOrigin?) {
        let defaultNetwork = LabReference(name: VMCtlNames.defaultNetwork, origin: spec.origin)
        guard let node else { return (defaultNetwork, nil, nil) }
        let list = try node.sequence()
        guard !list.isEmpty else { throw node.error("give at least one network (or leave 'networks' out: vmctl's default network)") }
        if list.count > 1 { throw list[1].error("a domain has one network interface in this version of vmctl") }
        let entry = list[0]
        if case .scalar = entry.node { return (LabReference(name: try entry.name(kind: "network"), origin: entry.origin), nil, nil) }
        let item = try entry.mapping(allowed: ["name", "address"])
        let nameNode = try item.required("name")
        let network = LabReference(name: try nameNode.name(kind: "network"), origin: nameNode.origin)
        guard let addressNode = item["address"] else { return (network, nil, nil) }
        let text = try addressNode.string()
        guard let address = IPv4Address(text) else { throw addressNode.error("invalid address '\(ResourceName.printable(text))': not an IPv4 address") }
        if let count { throw addressNode.error("a fixed address cannot be shared by \(count) members (count); give each its own Domain") }
        return (network, address, addressNode.origin)
    }

    static func forwards(_ list: LabNode?, count: Int?) throws -> ([ForwardRule], [LabOrigin]) {
        var forwards: [ForwardRule] = []
        var forwardOrigins: [LabOrigin] = []
        for node in try list?.sequence() ?? [] {
            let item = try node.mapping(allowed: ["name", "proto", "host-ip", "host-port", "guest-port"])
            var proto = TransportProtocol.tcp
            if let protoNode = item["proto"] {
                let text = try protoNode.string()
                guard let value = TransportProtocol(rawValue: text) else { throw protoNode.error("invalid protocol '\(text)': use tcp or udp") }
                proto = value
            }
            let hostPortNode = try item.required("host-port")
            let hostPort = try hostPortNode.checked { try Port(parsing: String(try hostPortNode.int()), what: "host port").number }
            let guestPortNode = try item.required("guest-port")
            let guestPort = try guestPortNode.checked { try Port(parsing: String(try guestPortNode.int()), what: "guest port").number }
            var hostAddress: IPv4Address?
            if let hostIPNode = item["host-ip"] {
                let text = try hostIPNode.string()
                // 0.0.0.0 (every address) or one unicast address: never broadcast, multicast or reserved.
                guard let value = IPv4Address(text), value.value >> 28 < 14, value.value != UInt32.max else {
                    throw hostIPNode.error("invalid host IP '\(ResourceName.printable(text))': use an address of this host, or 0.0.0.0 for all")
                }
                hostAddress = value
            }
            let forwardName = try item["name"]?.name(kind: "forward") ?? "\(proto.rawValue)-\(hostPort)"
            if let count, count > 1 {
                throw node.error("\(count) members cannot share host port \(hostPort) (count); give each its own Domain")
            }
            forwards.append(ForwardRule(name: forwardName, proto: proto, hostAddress: hostAddress, hostPort: hostPort, guestPort: guestPort))
            forwardOrigins.append(node.origin)
        }
        for (index, forward) in forwards.enumerated() {
            if let earlier = forwards[..<index].firstIndex(where: { $0.name == forward.name }) {
                throw forwardOrigins[index].error("a second forward named '\(forward.name)' (the first is at line \(forwardOrigins[earlier].line))")
            }
        }
        return (forwards, forwardOrigins)
    }

    /// `floating-ip: POOL` or `floating-ip: {pool: POOL}`.
    static func floatingPool(_ node: LabNode) throws -> LabReference {
        if case .scalar = node.node { return LabReference(name: try node.name(kind: "pool"), origin: node.origin) }
        let poolNode = try node.mapping(allowed: ["pool"]).required("pool")
        return LabReference(name: try poolNode.name(kind: "pool"), origin: poolNode.origin)
    }

    static func securityGroups(_ list: LabNode?) throws -> [LabReference] {
        var groups: [LabReference] = []
        for node in try list?.sequenceOrSingle() ?? [] {
            let group = LabReference(name: try node.name(kind: "security group"), origin: node.origin)
            if groups.contains(where: { $0.name == group.name }) { throw node.error("security group '\(group.name)' is listed twice") }
            groups.append(group)
        }
        return groups
    }

    static func sshKeys(_ list: LabNode?) throws -> [String] {
        try (list?.sequenceOrSingle() ?? []).map { node in
            let key = try node.string().trimmingSpaces
            guard SSHKey.looksLikePublicKey(key) else {
                throw node.error("invalid SSH public key '\(key.prefix(40))': expected 'TYPE BASE64 [comment]' on one line")
            }
            return key
        }
    }

    // MARK: Whole-lab checks

    static func validate(_ lab: Lab) throws {
        func unique(_ items: [(name: String, uri: String, origin: LabOrigin)], kind: String) throws {
            var first: [String: LabOrigin] = [:]
            for item in items {
                let key = item.uri + " " + item.name
                if let earlier = first[key] {
                    throw item.origin.error("a second \(kind) named '\(item.name)' (the first is at \(earlier))")
                }
                first[key] = item.origin
            }
        }
        try unique(lab.networks.map { ($0.spec.name, $0.uri, $0.origin) }, kind: "network")
        try unique(lab.routers.map { ($0.name, $0.uri, $0.origin) }, kind: "router")
        try unique(lab.securityGroups.map { ($0.name, $0.uri, $0.origin) }, kind: "security group")
        try unique(lab.pools.map { ($0.name, $0.uri, $0.origin) }, kind: "floating IP pool")
        try unique(lab.members.map { ($0.name, $0.uri, $0.origin) }, kind: "domain (members of a count are NAME-1…NAME-N)")
        for group in lab.securityGroups where group.name == SecurityGroup.defaultName {
            throw group.origin.error("'default' is vmctl's built-in group; name the lab's group otherwise")
        }

        // Networks of one host must not overlap each other.
        for (index, network) in lab.networks.enumerated() {
            if let clash = lab.networks[..<index].first(where: { $0.uri == network.uri && $0.spec.subnet.overlaps(network.spec.subnet) }) {
                throw network.origin.error("subnet \(network.spec.subnet) overlaps network '\(clash.spec.name)' (\(clash.spec.subnet), \(clash.origin))")
            }
        }
        for pool in lab.pools {
            if let network = lab.networks.first(where: { $0.uri == pool.uri && ($0.spec.subnet.contains(pool.range.start) || $0.spec.subnet.contains(pool.range.end)) }) {
                throw pool.origin.error("address range \(pool.range) lies in network '\(network.spec.name)' (\(network.spec.subnet), \(network.origin))")
            }
        }
        for (index, pool) in lab.pools.enumerated() {
            if let clash = lab.pools[..<index].first(where: {
                $0.uri == pool.uri && ($0.range.contains(pool.range.start) || $0.range.contains(pool.range.end) || pool.range.contains($0.range.start))
            }) {
                throw pool.origin.error("address range \(pool.range) overlaps pool '\(clash.name)' (\(clash.origin))")
            }
        }

        // Addresses: inside their network, not its gateway, one member each; members fit in the DHCP range.
        var claimed: [String: LabVM] = [:]
        for member in lab.members {
            guard let address = member.address, let origin = member.addressOrigin else { continue }
            if let network = lab.networks.first(where: { $0.uri == member.uri && $0.spec.name == member.network.name }) {
                let subnet = network.spec.subnet
                guard subnet.contains(address), address.value >= subnet.first.value, address.value <= subnet.last.value else {
                    throw origin.error("address \(address) is not a host address of network '\(network.spec.name)' (\(subnet))")
                }
                if address == network.spec.gateway { throw origin.error("address \(address) is the gateway of network '\(network.spec.name)'") }
            }
            let key = "\(member.uri) \(member.network.name) \(address)"
            if let other = claimed[key] {
                throw origin.error("address \(address) is also claimed by domain '\(other.name)' (\(other.addressOrigin ?? other.origin))")
            }
            claimed[key] = member
        }
        for network in lab.networks {
            let onIt = lab.members.filter { $0.uri == network.uri && $0.network.name == network.spec.name }
            let range = network.spec.dhcp
            let fixedInRange = onIt.filter { $0.address.map(range.contains) ?? false }.count
            var dynamic = 0
            for member in onIt where member.address == nil {
                dynamic += 1
                if dynamic + fixedInRange > range.count {
                    let total = onIt.filter { $0.address == nil }.count
                    throw member.origin.error(
                        "network '\(network.spec.name)' cannot hold \(total) members without fixed addresses: its DHCP range \(range) has \(range.count) addresses\(fixedInRange > 0 ? ", \(fixedInRange) of them fixed" : "") (\(network.origin))")
                }
            }
        }

        // Forwards: no two members on one host socket.
        var sockets: [(rule: ForwardRule, member: String, uri: String, origin: LabOrigin)] = []
        for member in lab.members {
            for (rule, origin) in zip(member.forwards, member.forwardOrigins) {
                if let clash = sockets.first(where: { $0.uri == member.uri && $0.rule.clashes(with: rule) }) {
                    throw origin.error("host port \(rule.proto.rawValue)/\(rule.hostPort) is also forwarded to '\(clash.member)' (\(clash.origin))")
                }
                sockets.append((rule, member.name, member.uri, origin))
            }
        }

        // References the lab itself must satisfy: a router joins the lab's or existing networks, checked by the plan;
        // a member's network on another connection than its own cannot work.
        for member in lab.members {
            if lab.networks.contains(where: { $0.spec.name == member.network.name && $0.uri != member.uri }),
               !lab.networks.contains(where: { $0.spec.name == member.network.name && $0.uri == member.uri }) {
                throw member.network.origin.error("network '\(member.network.name)' is defined on another connection than domain '\(member.name)' (\(member.uri))")
            }
        }
    }
}

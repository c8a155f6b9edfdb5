import Foundation
import Testing
@testable import VMCtlCore

/// Writes lab files into a fresh folder and loads them.
struct LabFixture {
    let directory: String

    init(_ files: [String: String]) throws {
        directory = NSTemporaryDirectory() + "vmctl-fleet-\(UUID().uuidString)"
        for (name, text) in files {
            let path = directory + "/" + name
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }

    func load(_ paths: [String] = ["lab.yaml"]) throws -> Lab {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try LabLoader.load(paths: paths.map { directory + "/" + $0 }, defaultURI: "test:///default")
    }

    static let labHeader = """
        version: 1
        kind: Lab
        name: demo
        spec:
          include: [net.yaml, vms.yaml]

        """

    static let network = """
        version: 1
        kind: Network
        name: fl-demo
        spec:
          subnet: 10.119.0.0/24
          dhcp: 10.119.0.100-10.119.0.103

        """

    /// A lab of the header, the network and `vms`.
    static func lab(_ vms: String, network: String = LabFixture.network) throws -> Lab {
        try LabFixture(["lab.yaml": labHeader, "net.yaml": network, "vms.yaml": vms]).load()
    }

    /// The error loading gives, as text.
    static func loadError(_ vms: String, network: String = LabFixture.network) -> String {
        do {
            _ = try lab(vms, network: network)
            return "no error"
        } catch {
            return "\(error)"
        }
    }
}

@Suite struct LabFileTests {
    @Test func readsTheSeedsLabsFromTheRepository() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        for name in ["calculator", "calculator-secure", "scripted-topology", "edge-cluster", "virtualbox-nat"] {
            let lab = try LabLoader.load(paths: ["\(root)/labs/\(name).yaml"], defaultURI: "qemu:///system")
            #expect(lab.name == name)
            #expect(!lab.members.isEmpty)
        }
        let calculator = try LabLoader.load(paths: ["\(root)/labs/calculator.yaml"], defaultURI: "qemu:///system")
        #expect(calculator.members.map(\.name).sorted() == ["calculator", "div", "mul", "sub", "sum"])
        #expect(calculator.members.first { $0.name == "calculator" }?.floatingPool?.name == "fl-calc-ext")
        #expect(calculator.members.first { $0.name == "div" }?.readiness == [.http(50004, try HTTPPath("/"))])
        let edge = try LabLoader.load(paths: ["\(root)/labs/edge-cluster.yaml"], defaultURI: "qemu:///system")
        #expect(edge.members.map(\.name) == ["edge-master", "edge-worker-1", "edge-worker-2"])
    }

    @Test func expandsCountAndTranslatesUserData() throws {
        let lab = try LabFixture.lab("""
            version: 1
            kind: Domain
            name: web
            spec:
              count: 3
              memory: 256M
              networks: [fl-demo]
              user-data:
                files:
                  - path: /data/www/cgi-bin/hello
                    mode: "0755"
                    content: |
                      #!/bin/sh
                      echo 'hi there'
                run:
                  - httpd -p 8080 -h /data/www
              ready: [ssh, "http:8080/cgi-bin/hello"]
            """)
        #expect(lab.name == "demo")
        #expect(lab.members.map(\.name) == ["web-1", "web-2", "web-3"])
        let member = lab.members[0]
        #expect(member.memory == .mebibytes(256))
        #expect(member.readiness == [.ssh, .http(8080, try HTTPPath("/cgi-bin/hello"))])
        #expect(member.runCommands.count == 2)
        let encoded = Data("#!/bin/sh\necho 'hi there'\n".utf8).base64EncodedString()
        #expect(member.runCommands[0] == "mkdir -p /data/www/cgi-bin && echo \(encoded) | base64 -d > /data/www/cgi-bin/hello && chmod 0755 /data/www/cgi-bin/hello")
        #expect(member.runCommands[1] == "httpd -p 8080 -h /data/www")
        #expect(lab.members.allSatisfy { $0.digest == member.digest })
    }

    // The bad files of the issue: each error names the file, the line and the key path, and nothing is loaded.

    @Test func unknownKey() {
        let error = LabFixture.loadError("""
            version: 1
            kind: Domain
            name: web
            spec:
              memory: 256M
              netwroks: [fl-demo]
            """)
        #expect(error.contains("vms.yaml:6: spec.netwroks: unknown key (expected one of: count, image"), "\(error)")
    }

    @Test func wrongType() {
        let error = LabFixture.loadError("""
            version: 1
            kind: Domain
            name: web
            spec:
              cpus: two
            """)
        #expect(error.contains("vms.yaml:5: spec.cpus: expected an integer, got the text 'two'"), "\(error)")
        let list = LabFixture.loadError("""
            version: 1
            kind: Domain
            name: web
            spec:
              networks: fl-demo
            """)
        #expect(list.contains("vms.yaml:5: spec.networks: expected a list, got the text 'fl-demo'"), "\(list)")
    }

    @Test func danglingReferenceInTheFiles() throws {
        let error = LabFixture.loadError("""
            version: 1
            kind: Router
            name: fl-r
            spec:
              networks: [fl-demo, "bad name!"]
            """)
        #expect(error.contains("vms.yaml:5: spec.networks[1]: invalid network name 'bad name!'"), "\(error)")
    }

    @Test func duplicateNames() {
        let error = LabFixture.loadError("""
            version: 1
            kind: Domain
            name: web
            spec:
              count: 2
              networks: [fl-demo]
            ---
            version: 1
            kind: Domain
            name: web-2
            spec:
              networks: [fl-demo]
            """)
        #expect(error.contains("vms.yaml:8: a second domain (members of a count are NAME-1…NAME-N) named 'web-2' (the first is at "), "\(error)")
    }

    @Test func duplicateKey() {
        let error = LabFixture.loadError("""
            version: 1
            kind: Domain
            name: web
            spec:
              memory: 256M
              memory: 512M
            """)
        #expect(error.contains("vms.yaml:6: spec.memory: duplicate key (first on line 5)"), "\(error)")
    }

    @Test func twoDomainsClaimingOneAddress() {
        let error = LabFixture.loadError("""
            version: 1
            kind: Domain
            name: a
            spec:
              networks:
                - name: fl-demo
                  address: 10.119.0.20
            ---
            version: 1
            kind: Domain
            name: b
            spec:
              networks:
                - name: fl-demo
                  address: 10.119.0.20
            """)
        #expect(error.contains("vms.yaml:15: spec.networks[0].address: address 10.119.0.20 is also claimed by domain 'a' ("), "\(error)")
        #expect(error.contains("vms.yaml:7)"), "\(error)")
    }

    @Test func addressOutsideTheSubnetOrOnTheGateway() {
        let outside = LabFixture.loadError("""
            version: 1
            kind: Domain
            name: a
            spec:
              networks: [{name: fl-demo, address: 10.120.0.5}]
            """)
        #expect(outside.contains("vms.yaml:5: spec.networks[0].address: address 10.120.0.5 is not a host address of network 'fl-demo' (10.119.0.0/24)"), "\(outside)")
        let gateway = LabFixture.loadError("""
            version: 1
            kind: Domain
            name: a
            spec:
              networks: [{name: fl-demo, address: 10.119.0.1}]
            """)
        #expect(gateway.contains("address 10.119.0.1 is the gateway of network 'fl-demo'"), "\(gateway)")
    }

    @Test func countOverTheSubnetsCapacity() {
        // The fixture's DHCP range holds 4 addresses.
        let error = LabFixture.loadError("""
            version: 1
            kind: Domain
            name: web
            spec:
              count: 5
              networks: [fl-demo]
            """)
        #expect(error.contains("vms.yaml:1: network 'fl-demo' cannot hold 5 members without fixed addresses: its DHCP range 10.119.0.100-10.119.0.103 has 4 addresses"), "\(error)")
        #expect(LabFixture.loadError("""
            version: 1
            kind: Domain
            name: web
            spec:
              count: 4
              networks: [fl-demo]
            """) == "no error")
    }

    @Test func invalidValuesNameTheirKey() {
        let cases: [(String, String)] = [
            ("  memory: lots", "vms.yaml:5: spec.memory: invalid size 'lots'"),
            ("  ready: tcp:99999", "vms.yaml:5: spec.ready: invalid readiness port '99999'"),
            ("  ready: ping", "vms.yaml:5: spec.ready: invalid readiness check 'ping'"),
            ("  flavor: huge", "vms.yaml:5: spec.flavor: flavor 'huge' not found"),
            ("  user-data: {run: [\"a\\nb\"]}", "vms.yaml:5: spec.user-data.run[0]: one line per command"),
            ("  user-data: {files: [{path: relative, content: x}]}", "vms.yaml:5: spec.user-data.files[0].path: invalid path 'relative'"),
            ("  forwards: [{host-port: 70000, guest-port: 22}]", "vms.yaml:5: spec.forwards[0].host-port: invalid host port '70000'"),
        ]
        for (line, expected) in cases {
            let error = LabFixture.loadError("version: 1\nkind: Domain\nname: web\nspec:\n\(line)\n")
            #expect(error.contains(expected), "\(line): \(error)")
        }
    }

    @Test func documentHeaders() throws {
        #expect(LabFixture.loadError("version: 2\nkind: Domain\nname: web\nspec: {}\n").contains("vms.yaml:1: version: unsupported version 2"))
        #expect(LabFixture.loadError("version: 1\nkind: Server\nname: web\nspec: {}\n").contains("vms.yaml:2: kind: unknown kind 'Server'"))
        #expect(LabFixture.loadError("version: 1\nkind: Domain\nspec: {}\n").contains("vms.yaml:1: missing required key 'name'"))
        #expect(LabFixture.loadError("version: 1\nkind: Domain\nname: web\nspec: {memory: [1\n").contains("vms.yaml:"))
        let noLab = try LabFixture(["net.yaml": LabFixture.network])
        #expect(throws: VMCtlError.self) { try noLab.load(["net.yaml"]) }
    }

    @Test func foldersAndIncludesAreReadOnce() throws {
        let fixture = try LabFixture([
            "labs/demo.yaml": "version: 1\nkind: Lab\nname: demo\nspec:\n  include: [../networks, ../domains/web.yaml]\n",
            "networks/net.yaml": LabFixture.network,
            "domains/web.yaml": "version: 1\nkind: Domain\nname: web\nspec:\n  networks: [fl-demo]\n",
        ])
        let lab = try fixture.load(["labs/demo.yaml", "domains"])
        #expect(lab.members.map(\.name) == ["web"])
        #expect(lab.networks.map(\.spec.name) == ["fl-demo"])
        #expect(lab.files.count == 3)
    }
}

@Suite struct LabPlanTests {
    static let vms = """
        version: 1
        kind: Domain
        name: web
        spec:
          count: 2
          memory: 256M
          networks: [fl-demo]
          security-groups: [default, fl-web]
          floating-ip: fl-ext
        ---
        version: 1
        kind: Domain
        name: db
        spec:
          networks: [{name: fl-demo, address: 10.119.0.10}]
          forwards: [{host-port: 2222, guest-port: 22}]
        ---
        version: 1
        kind: SecurityGroup
        name: fl-web
        spec:
          rules: [{proto: tcp, port: 80}]
        ---
        version: 1
        kind: FloatingIPPool
        name: fl-ext
        spec: {interface: vmctl-ext0, range: 198.51.100.190-198.51.100.199}
        ---
        version: 1
        kind: Router
        name: fl-rt
        spec: {networks: [fl-demo]}
        """

    static func lab() throws -> Lab { try LabFixture.lab(vms) }

    /// The host as apply would leave it for `lab`.
    static func converged(_ lab: Lab) -> LabObserved {
        var state = LabObserved(uri: "test:///default")
        for network in lab.networks {
            let spec = network.spec
            state.networks.append(.init(name: spec.name, lab: lab.name, subnet: spec.subnet, gateway: spec.gateway,
                                        dhcp: spec.dhcp, mode: spec.mode, domain: spec.domain))
        }
        for pool in lab.pools {
            state.control.pools.append(FloatingIPPool(name: pool.name, interface: pool.interface, range: pool.range, allocations: [], lab: lab.name))
        }
        for group in lab.securityGroups {
            var made = SecurityGroup(name: group.name, rules: group.rules.enumerated().map {
                SecurityGroup.Rule(id: "\(group.name)-\($0 + 1)", proto: $1.proto, ports: $1.ports, remote: $1.remote)
            })
            made.lab = lab.name
            state.control.securityGroups.append(made)
        }
        for router in lab.routers {
            var made = Router(name: router.name, networks: router.networks.map(\.name))
            made.lab = lab.name
            state.control.routers.append(made)
        }
        for (index, member) in lab.members.enumerated() {
            let address = member.address ?? IPv4Address(value: member.network.name == "fl-demo" ? 0x0A77_0064 + UInt32(index) : 0)
            state.domains.append(.init(
                name: member.name, lab: LabOwnership(name: lab.name, digest: member.digest), running: true, cpus: member.cpus,
                memory: member.memory, disk: member.disk, network: member.network.name, address: address,
                forwards: member.forwards, securityGroups: member.securityGroups.map(\.name)))
            if let pool = member.floatingPool, let index = state.control.pools.firstIndex(where: { $0.name == pool.name }) {
                let next = IPv4Address(value: state.control.pools[index].range.start.value + UInt32(state.control.pools[index].allocations.count))
                state.control.pools[index].allocations.append(.init(address: next, vm: member.name))
            }
        }
        return state
    }

    static func index(_ name: String, in state: LabObserved) -> Int { state.domains.firstIndex { $0.name == name }! }

    static func plan(_ lab: Lab, _ state: LabObserved) throws -> LabPlan {
        try LabPlanner.plan(lab, observed: [state.uri: state])
    }

    @Test func anEmptyHostGetsEverythingInOrder() throws {
        let lab = try Self.lab()
        let plan = try Self.plan(lab, LabObserved(uri: "test:///default"))
        #expect(plan.actions.allSatisfy { $0.operation == .create })
        #expect(plan.actions.map { "\($0.kind.label) \($0.name)" } == [
            "fip-pool fl-ext", "security-group fl-web", "network fl-demo", "router fl-rt", "domain db", "domain web-1", "domain web-2",
        ])
        #expect(plan.pending == 7)
    }

    @Test func aConvergedHostHasNothingToDo() throws {
        let lab = try Self.lab()
        let plan = try Self.plan(lab, Self.converged(lab))
        #expect(plan.pending == 0, "\(plan.actions.filter { $0.operation != .unchanged })")
        #expect(plan.summary == "lab demo: 0 to create, 0 to update, 0 to replace, 0 to delete, 7 unchanged")
    }

    @Test func memoryEditIsOneLiveUpdate() throws {
        let lab = try Self.lab()
        var state = Self.converged(lab)
        let db = Self.index("db", in: state)
        state.domains[db].memory = .mebibytes(384)  // the file says 512M
        let plan = try Self.plan(lab, state)
        let changed = plan.actions.filter { $0.operation != .unchanged }
        #expect(changed.count == 1)
        #expect(changed.first?.name == "db")
        #expect(changed.first?.operation == .update)
        #expect(changed.first?.changes == ["memory 384M → 512M (live)"])
        #expect(changed.first?.domainUpdate?.resize == ResizeRequest(memory: .mebibytes(512)))
        #expect(changed.first?.domainUpdate?.restart == false)

        state.domains[db].maxMemory = .mebibytes(384)
        let beyond = try Self.plan(lab, state).actions.first { $0.name == "db" }
        #expect(beyond?.changes == ["memory 384M → 512M (restart)"])
        #expect(beyond?.domainUpdate?.restart == true)
    }

    @Test func changedUserDataOrAddressReplaces() throws {
        let lab = try Self.lab()
        var state = Self.converged(lab)
        state.domains[Self.index("db", in: state)].lab?.digest = "00000000"
        let plan = try Self.plan(lab, state)
        #expect(plan.actions.first { $0.name == "db" }?.operation == .replace)
        #expect(plan.pending == 1)
    }

    @Test func aMemberWithoutAReservationGetsOneInPlace() throws {
        let lab = try Self.lab()
        var state = Self.converged(lab)
        // A create killed between defining the VM and reserving its address.
        state.domains[Self.index("web-1", in: state)].address = nil
        let plan = try Self.plan(lab, state)
        let changed = plan.actions.filter { $0.operation != .unchanged }
        #expect(changed.map(\.name) == ["web-1"])
        #expect(changed.first?.operation == .update)
        #expect(changed.first?.changes == ["reserve an address on fl-demo"])
        #expect(changed.first?.domainUpdate?.reserveAddress == true)
    }

    @Test func networkingDifferencesAreUpdatesInPlace() throws {
        let lab = try Self.lab()
        var state = Self.converged(lab)
        state.domains[Self.index("web-1", in: state)].securityGroups = []
        state.domains[Self.index("db", in: state)].forwards = []
        state.domains[Self.index("web-2", in: state)].running = false
        state.control.pools[0].allocations.removeAll { $0.vm == "web-2" }
        state.control.pools[0].allocations.append(.init(address: IPv4Address("198.51.100.199")!, vm: nil))
        state.control.securityGroups[0].rules.append(.init(id: "fl-web-9", proto: .udp, ports: try! PortRange(53...53), remote: nil))
        let plan = try Self.plan(lab, state)
        let changes = Dictionary(uniqueKeysWithValues: plan.actions.filter { $0.operation != .unchanged }.map { ("\($0.kind.label) \($0.name)", $0.changes) })
        #expect(changes["domain db"] == ["forward tcp/2222 → 22"])
        #expect(changes["domain web-1"] == ["join group default", "join group fl-web"])
        #expect(changes["domain web-2"] == ["floating IP from fl-ext", "start"])
        #expect(changes["fip-pool fl-ext"] == ["release unassociated 198.51.100.199"])
        #expect(changes["security-group fl-web"] == ["remove rule udp/53"])
        #expect(changes.count == 5)
    }

    @Test func ownershipDecidesWhatIsDeletedAndWhatConflicts() throws {
        let lab = try Self.lab()
        var state = Self.converged(lab)
        // A member removed from the files, a VM made by hand, a VM of another lab.
        state.domains.append(.init(name: "web-3", lab: LabOwnership(name: "demo", digest: "x"), running: true, cpus: 1,
                                   memory: .mebibytes(256), disk: nil, network: "fl-demo", address: nil))
        state.domains.append(.init(name: "mine", lab: nil, running: true, cpus: 1, memory: .mebibytes(256), disk: nil, network: "fl-demo", address: nil))
        state.domains.append(.init(name: "theirs", lab: LabOwnership(name: "other"), running: true, cpus: 1, memory: .mebibytes(256), disk: nil, network: nil, address: nil))
        var plan = try Self.plan(lab, state)
        #expect(plan.actions.filter { $0.operation == .delete }.map(\.name) == ["web-3"])
        #expect(!plan.actions.contains { $0.name == "mine" || $0.name == "theirs" })

        // A lab object no longer in the files is deleted; one that exists without being the lab's is a conflict.
        var router = Router(name: "fl-old", networks: [])
        router.lab = "demo"
        state.control.routers.append(router)
        plan = try Self.plan(lab, state)
        #expect(plan.actions.contains { $0.name == "fl-old" && $0.operation == .delete })

        state.domains[Self.index("db", in: state)].lab = nil
        let error = #expect(throws: VMCtlError.self) { try Self.plan(lab, state) }
        #expect(error?.description.contains("vms.yaml:11: VM 'db' already exists on test:///default and is not part of lab 'demo' (it was made by hand)") == true, "\(error?.description ?? "")")
    }

    @Test func danglingReferencesAreCheckedAgainstTheHost() throws {
        let lab = try LabFixture.lab("""
            version: 1
            kind: Domain
            name: web
            spec:
              networks: [elsewhere]
            """)
        let error = #expect(throws: VMCtlError.self) { try Self.plan(lab, LabObserved(uri: "test:///default")) }
        #expect(error?.description.contains("vms.yaml:5: spec.networks[0]: network 'elsewhere' is neither in the lab nor on test:///default") == true,
                "\(error?.description ?? "")")
        var state = LabObserved(uri: "test:///default")
        state.networks.append(.init(name: "elsewhere", lab: nil, subnet: IPv4Subnet("10.118.0.0/24"), gateway: IPv4Address("10.118.0.1"),
                                    dhcp: nil, mode: .nat, domain: nil))
        #expect(try Self.plan(lab, state).count(.create) == 2)

        let group = try LabFixture.lab("version: 1\nkind: Domain\nname: web\nspec:\n  security-groups: [nope]\n")
        let groupError = #expect(throws: VMCtlError.self) { try Self.plan(group, LabObserved(uri: "test:///default")) }
        #expect(groupError?.description.contains("vms.yaml:5: spec.security-groups[0]: security group 'nope' is neither in the lab nor on") == true)
        let pool = try LabFixture.lab("version: 1\nkind: Domain\nname: web\nspec:\n  floating-ip: {pool: nope}\n")
        let poolError = #expect(throws: VMCtlError.self) { try Self.plan(pool, LabObserved(uri: "test:///default")) }
        #expect(poolError?.description.contains("vms.yaml:5: spec.floating-ip.pool: floating IP pool 'nope' is neither in the lab nor on") == true)
    }

    @Test func aChangedNetworkIsMadeAgainWithItsDomains() throws {
        let lab = try Self.lab()
        var state = Self.converged(lab)
        state.networks[0].dhcp = IPv4Range(start: IPv4Address("10.119.0.100")!, end: IPv4Address("10.119.0.200")!)
        let plan = try Self.plan(lab, state)
        #expect(plan.actions.first { $0.kind == .network }?.operation == .replace)
        #expect(plan.actions.filter { $0.kind == .domain }.allSatisfy { $0.operation == .replace })
        state.domains.append(.init(name: "mine", lab: nil, running: true, cpus: 1, memory: .mebibytes(256), disk: nil, network: "fl-demo", address: nil))
        #expect(throws: VMCtlError.self) { try Self.plan(lab, state) }
    }

    @Test func destroyTakesOnlyTheLabsObjectsNetworksLast() throws {
        let lab = try Self.lab()
        var state = Self.converged(lab)
        state.domains.append(.init(name: "mine", lab: nil, running: true, cpus: 1, memory: .mebibytes(256), disk: nil, network: "fl-demo", address: nil))
        state.networks.append(.init(name: "vmctl", lab: nil, subnet: nil, gateway: nil, dhcp: nil, mode: .nat, domain: nil))
        let actions = LabPlanner.destroy(lab: "demo", state: state)
        #expect(actions.map { "\($0.kind.label) \($0.name)" } == [
            "domain db", "domain web-1", "domain web-2", "router fl-rt", "security-group fl-web", "fip-pool fl-ext", "network fl-demo",
        ])
        #expect(actions.first { $0.name == "web-1" }?.releasing == [IPv4Address("198.51.100.190")!])
    }

    @Test func metadataCarriesOwnership() throws {
        var metadata = VMMetadata(image: "tiny", flavor: nil, instanceID: "i-1", hostname: "web", accelerator: "tcg",
                                        created: "now", volumes: [:])
        metadata.lab = LabOwnership(name: "demo", digest: "abc")
        #expect(VMMetadata(element: metadata.element)?.lab == LabOwnership(name: "demo", digest: "abc"))
        let network = NetworkMetadata(mode: .routed, lab: "demo")
        let document = try NetworkSpec(name: "fl-x", subnet: "10.117.0.0/24").document
        var withLab = document
        withLab.metadata = [network.element]
        #expect(NetworkMetadata(document: withLab)?.lab == "demo")
        #expect(NetworkMetadata(document: document)?.lab == nil)
        // Records written before labs existed read as no lab.
        let old = try JSONDecoder().decode(Router.self, from: Data(#"{"name":"r","networks":[]}"#.utf8))
        #expect(old.lab == nil)
    }
}

extension LabAction {
    /// What apply changes on the member's VM in place (nil for other kinds of action).
    var domainUpdate: LabVMUpdate? {
        if case .domain(_, let update) = subject { return update }
        return nil
    }
}

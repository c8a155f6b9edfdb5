import Foundation
import Testing
@testable import VMCtlCore

/// A lab file is input from someone else: it names hosts, never programs or host files, and a lab that apply
/// could not make fails its plan.
@Suite struct LabTrustTests {
    static func error(_ body: () throws -> Any) -> String {
        do {
            _ = try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    // MARK: Libvirt URIs

    @Test(arguments: [
        "qemu:///system", "qemu+unix:///system", "qemu+ssh://lab1/system", "qemu+ssh://admin@lab1.example.org:2222/system",
        "qemu+tcp://10.0.0.1:16509/system", "qemu+tls://lab1/system", "qemu://lab1/system", "qemu+ssh://[fd00::1]/system",
        "qemu+ssh://lab1/system?no_tty=1", "qemu+ssh://lab1/system?no_tty=1&mode=direct", "qemu:///system?mode=legacy",
        "test:///default",
    ])
    func urisNamingAHostAreAccepted(_ text: String) throws {
        #expect(try LibvirtURI(text).text == text)
    }

    @Test(arguments: [
        "qemu+ext:///system?command=/tmp/x.sh", "qemu+ssh://lab1/system?command=/tmp/x.sh",
        "qemu+ssh://lab1/system?netcat=/tmp/x.sh", "qemu+ssh://lab1/system?proxy=netcat",
        "qemu+ssh://lab1/system?keyfile=/root/.ssh/id_ed25519", "qemu+unix:///system?socket=/tmp/evil.sock",
        "qemu:///system?socket=/tmp/evil.sock", "qemu+tls://lab1/system?pkipath=/tmp/pki", "qemu+tls://lab1/system?no_verify=1",
        "qemu+tls://lab1/system?tls_priority=NONE", "qemu+libssh2://lab1/system?known_hosts=/tmp/k",
        "qemu+libssh://lab1/system", "qemu+ssh://lab1/system?name=test:///etc/passwd",
        "qemu+ssh://-oProxyCommand=touch%20x/system", "qemu+ssh://-oProxyCommand=x/system", "qemu+ssh://-l/system",
        "qemu+ssh://lab1/system?%63ommand=/tmp/x.sh", "qemu+ssh://lab1/system#x", "qemu+ssh://lab1/system?no_tty=1;command=/x",
        "qemu:///session", "test:///etc/passwd", "test:///tmp/host.xml", "xen:///system", "lab1", "qemu+ssh:///system",
        "qemu+unix://lab1/system", "qemu+tcp://lab1:0/system", "qemu+tcp://lab1:99999/system", "qemu+ssh://-user@lab1/system",
        "qemu:///system?mode=auto&mode=auto", "qemu+tcp://lab1/system?no_tty=1", "qemu:///system ", "qemu:///system\n",
    ])
    func urisThatRunProgramsOrNameFilesAreRefused(_ text: String) {
        let message = Self.error { try LibvirtURI(text) }
        #expect(message.hasPrefix("invalid libvirt URI '"), "\(text): \(message)")
        #expect(!message.contains("\n"), "\(text): \(message)")
    }

    @Test func sessionsOpenOnlyCheckedURIs() {
        // The check comes before libvirt sees the text: no program runs, whatever opens the session.
        let marker = NSTemporaryDirectory() + "lab-uri-marker-\(UUID().uuidString)"
        let message = Self.error { try Session(uri: "qemu+ext:///system?command=/usr/bin/touch%20\(marker)") }
        #expect(message.hasPrefix("invalid libvirt URI"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func aLabURIThatRunsAProgramIsRefusedWithItsLine() {
        let lab = "version: 1\nkind: Lab\nname: demo\nuri: \"qemu+ext:///system?command=/tmp/x.sh\"\n"
        let message = Self.error { try LabFixture(["lab.yaml": lab]).load() }
        #expect(message.contains("lab.yaml:4: uri: invalid libvirt URI 'qemu+ext:///system?command=/tmp/x.sh': transport 'ext' is not allowed"),
                "\(message)")
        let network = LabFixture.network.replacingOccurrences(of: "name: fl-demo\n", with: "name: fl-demo\nuri: qemu+ssh://lab1/system?keyfile=/k\n")
        let perObject = LabFixture.loadError("", network: network)
        #expect(perObject.contains("net.yaml:4: uri: invalid libvirt URI") && perObject.contains("parameter 'keyfile' is not allowed"), "\(perObject)")
    }

    // MARK: user-data sources

    static func files(_ source: String) -> String {
        """
        version: 1
        kind: Domain
        name: web
        spec:
          networks: [fl-demo]
          user-data:
            files:
              - {path: /etc/app.conf, source: "\(source)"}

        """
    }

    @Test func sourcesInTheFilesFolderAreSent() throws {
        let fixture = try LabFixture(["lab.yaml": LabFixture.labHeader, "net.yaml": LabFixture.network,
                                        "vms.yaml": Self.files("conf/app.conf"), "conf/app.conf": "port=80\n"])
        let lab = try fixture.load()
        #expect(lab.members[0].runCommands[0].contains(Data("port=80\n".utf8).base64EncodedString()))
    }

    @Test(arguments: ["/etc/hostname", "../outside.txt", "conf/../../outside.txt", "/proc/self/environ"])
    func sourcesOutsideTheFolderAreRefused(_ source: String) throws {
        let fixture = try LabFixture(["lab/lab.yaml": LabFixture.labHeader, "lab/net.yaml": LabFixture.network,
                                        "lab/vms.yaml": Self.files(source), "outside.txt": "secret\n", "lab/conf/x": ""])
        let message = Self.error { try fixture.load(["lab/lab.yaml"]) }
        #expect(message.contains("vms.yaml:8: spec.user-data.files[0].source:"), "\(message)")
        #expect(message.contains("give a path relative to the folder of") || message.contains("is outside"), "\(message)")
    }

    @Test func aSymlinkInsideTheFolderPointingOutIsRefused() throws {
        let fixture = try LabFixture(["lab/lab.yaml": LabFixture.labHeader, "lab/net.yaml": LabFixture.network,
                                        "lab/vms.yaml": Self.files("key"), "outside.txt": "secret\n"])
        try FileManager.default.createSymbolicLink(atPath: fixture.directory + "/lab/key", withDestinationPath: fixture.directory + "/outside.txt")
        let message = Self.error { try fixture.load(["lab/lab.yaml"]) }
        #expect(message.contains("vms.yaml:8: spec.user-data.files[0].source: source 'key' is outside"), "\(message)")
    }

    @Test func aSourceMustBeASmallRegularFile() throws {
        let fixture = try LabFixture(["lab.yaml": LabFixture.labHeader, "net.yaml": LabFixture.network,
                                        "vms.yaml": Self.files("pipe")])
        #expect(mkfifo(fixture.directory + "/pipe", 0o600) == 0)
        #expect(Self.error { try fixture.load() }.contains("source 'pipe' is not a regular file"))
    }

    // MARK: Readiness

    @Test(arguments: ["http:80/a\r\nX-Evil: 1", "http:80/a b", "http:80/\u{7F}", "http:80/é", "http:80", "http:0/", "http:65536/",
                      "http:80x/", "tcp:0", "tcp:70000"])
    func readinessValuesThatBreakTheRequestAreRefused(_ text: String) {
        let message = Self.error { try LabReadiness(parsing: text) }
        if text == "http:80" {
            #expect(message == "no error")
        } else {
            #expect(message.hasPrefix("invalid readiness"), "\(text.debugDescription): \(message)")
        }
    }

    @Test func readinessPathsKeepWhatURLsAllow() throws {
        #expect(try LabReadiness(parsing: "http:8080/health?full=1&x=%20") == .http(8080, try HTTPPath("/health?full=1&x=%20")))
        let message = LabFixture.loadError("version: 1\nkind: Domain\nname: web\nspec:\n  networks: [fl-demo]\n  ready: [\"http:80/a\\r\\nHost: x\"]\n")
        #expect(message.contains("vms.yaml:6: spec.ready[0]: invalid readiness path"), "\(message)")
    }

    // MARK: Plans the firewall would refuse

    static let isolatedRouter = """
        version: 1
        kind: Network
        name: lab-iso
        spec: {subnet: 10.121.0.0/24, mode: isolated}
        ---
        version: 1
        kind: Router
        name: lab-rt
        spec: {networks: [fl-demo, lab-iso]}
        ---
        version: 1
        kind: Domain
        name: web
        spec: {networks: [lab-iso]}

        """

    @Test func aRouterJoiningAnIsolatedNetworkFailsThePlan() throws {
        let lab = try LabFixture.lab(Self.isolatedRouter)
        let message = Self.error { try LabPlanner.plan(lab, observed: ["test:///default": LabObserved(uri: "test:///default")]) }
        #expect(message.contains("lab.yaml:1: lab 'demo' cannot be applied on test:///default: router 'lab-rt' cannot join isolated network 'lab-iso'"),
                "\(message)")
    }

    @Test func aForwardOnAPortAnotherVMHoldsFailsThePlan() throws {
        let lab = try LabFixture.lab("version: 1\nkind: Domain\nname: web\nspec:\n  networks: [fl-demo]\n  forwards: [{host-port: 2222, guest-port: 22}]\n")
        var state = LabObserved(uri: "test:///default")
        state.networks.append(.init(name: "other", lab: nil, subnet: IPv4Subnet("10.122.0.0/24"), gateway: IPv4Address("10.122.0.1"),
                                    dhcp: nil, mode: .nat, domain: nil))
        state.domains.append(.init(name: "ssh-box", lab: nil, running: true, cpus: 1, memory: .mebibytes(256), disk: nil, network: "other",
                                   address: IPv4Address("10.122.0.5"),
                                   forwards: [ForwardRule(name: "tcp-2222", proto: .tcp, hostAddress: nil, hostPort: 2222, guestPort: 22)]))
        let message = Self.error { try LabPlanner.plan(lab, observed: [state.uri: state]) }
        #expect(message.contains("port forwards 'tcp-2222' and 'tcp-2222' both take tcp *:2222"), "\(message)")
    }

    @Test func aFloatingPoolInsideALabNetworkFailsThePlan() throws {
        let vms = """
            version: 1
            kind: FloatingIPPool
            name: lab-ext
            spec: {interface: eth0, range: 10.119.0.200-10.119.0.210}
            ---
            version: 1
            kind: Domain
            name: web
            spec: {networks: [fl-demo], floating-ip: lab-ext}

            """
        #expect(LabFixture.loadError(vms).contains("vms.yaml:1: address range 10.119.0.200-10.119.0.210 lies in network 'fl-demo'"))
        // A network already on the host: the plan sees it.
        var state = LabObserved(uri: "test:///default")
        state.networks.append(.init(name: "other", lab: nil, subnet: IPv4Subnet("10.122.0.0/24"), gateway: IPv4Address("10.122.0.1"),
                                    dhcp: nil, mode: .nat, domain: nil))
        let onHost = vms.replacingOccurrences(of: "10.119.0.200-10.119.0.210", with: "10.122.0.200-10.122.0.210")
        let message = Self.error { try LabPlanner.plan(try LabFixture.lab(onHost), observed: [state.uri: state]) }
        #expect(message.contains("vms.yaml:1: address range 10.122.0.200-10.122.0.210 lies in network 'other'"), "\(message)")
    }

    @Test(arguments: ["127.0.0.5-127.0.0.9", "100.0.0.1-130.0.0.1", "198.50.0.0-198.51.255.255", "239.0.0.1-239.0.0.9", "0.0.0.0-0.0.0.3"])
    func floatingPoolsOfSpecialOrHugeRangesAreRefused(_ range: String) {
        let message = LabFixture.loadError("version: 1\nkind: FloatingIPPool\nname: lab-ext\nspec: {interface: eth0, range: \(range)}\n")
        #expect(message.contains("vms.yaml:4: spec.range: address range"), "\(range): \(message)")
    }

    @Test func aConvergedLabStillPlansClean() throws {
        let lab = try LabPlanTests.lab()
        let plan = try LabPlanTests.plan(lab, LabPlanTests.converged(lab))
        #expect(plan.pending == 0)
    }

    // MARK: Hostile values

    @Test func theControlNetworkNameIsReserved() {
        let network = LabFixture.network.replacingOccurrences(of: "name: fl-demo", with: "name: vmctl-control")
        let message = LabFixture.loadError("", network: network)
        #expect(message.contains("net.yaml:3: name: 'vmctl-control' is reserved"), "\(message)")
    }

    @Test(arguments: ["127.0.0.0/24", "0.0.0.0/8", "169.254.0.0/16", "224.0.0.0/24", "240.0.0.0/24"])
    func specialSubnetsAreRefused(_ subnet: String) {
        let network = LabFixture.network.replacingOccurrences(of: "subnet: 10.119.0.0/24\n  dhcp: 10.119.0.100-10.119.0.103",
                                                                with: "subnet: \(subnet)")
        let message = LabFixture.loadError("", network: network)
        #expect(message.contains("net.yaml:5: spec: invalid subnet") && message.contains("range; use a private range"), "\(message)")
    }

    @Test func aRouterListingANetworkTwiceIsRefused() {
        let message = LabFixture.loadError("version: 1\nkind: Router\nname: lab-rt\nspec: {networks: [fl-demo, fl-demo]}\n")
        #expect(message.contains("vms.yaml:4: spec.networks[1]: network 'fl-demo' is listed twice"), "\(message)")
    }

    @Test(arguments: ["/dev/zero", "/etc/hostname", "/"])
    func includesOfDevicesHostFilesOrTheRootAreRefused(_ include: String) throws {
        let lab = "version: 1\nkind: Lab\nname: demo\nspec:\n  include: [\"\(include)\"]\n"
        let message = Self.error { try LabFixture(["lab.yaml": lab]).load() }
        #expect(message.contains("lab.yaml:5: spec.include[0]:") || message.contains("include[0]"), "\(message)")
    }

    @Test(arguments: ["memory: 99999999999999999999G", "memory: 9000000T", "memory: 8000000T", "disk: 8000000T", "disk: 18446744073709551615", "count: 99999999999999999999",
                      "cpus: -1", "forwards: [{host-port: 99999999999999999999, guest-port: 1}]", "forwards: [{host-port: 0, guest-port: 1}]",
                      "networks: [{name: fl-demo, address: 10.119.0.255}]", "user-data: {files: [{path: /x, content: a, mode: \"99999\"}]}"])
    func hostileDomainValuesGetOneLine(_ line: String) {
        let spec = line.hasPrefix("networks") ? line : "networks: [fl-demo]\n  \(line)"
        let message = LabFixture.loadError("version: 1\nkind: Domain\nname: web\nspec:\n  \(spec)\n")
        #expect(message.contains("vms.yaml:"), "\(line): \(message)")
        #expect(!message.contains("\n"), "\(line): \(message)")
    }
}

extension LabTrustTests {
    @Test(arguments: ["forwards: [{host-port: 80, guest-port: 80, host-ip: 255.255.255.255}]",
                      "forwards: [{host-port: 80, guest-port: 80, host-ip: 224.0.0.1}]",
                      "ssh-keys: [\"ssh-ed25519 AAAA x\\u0007y\"]", "user-data: {run: [\"echo \\u0000\"]}",
                      "user-data: {files: [{path: \"/etc/a\\u001b\", content: x}]}"])
    func valuesTheSeedOrTheFirewallCannotCarryAreRefused(_ line: String) {
        let message = LabFixture.loadError("version: 1\nkind: Domain\nname: web\nspec:\n  networks: [fl-demo]\n  \(line)\n")
        #expect(message.contains("vms.yaml:6: spec."), "\(line): \(message)")
        #expect(!message.contains("\n"), "\(line): \(message)")
    }

    @Test func aPoolOnAMissingInterfaceFailsThePlan() throws {
        let lab = try LabFixture.lab("version: 1\nkind: FloatingIPPool\nname: lab-ext\nspec: {interface: lab-nosuch0, range: 198.51.100.5-198.51.100.9}\n")
        var state = LabObserved(uri: "test:///default")
        state.interfaces = ["lo", "eth0"]
        let message = Self.error { try LabPlanner.plan(lab, observed: [state.uri: state]) }
        #expect(message.contains("vms.yaml:1: interface 'lab-nosuch0' of pool 'lab-ext' does not exist on test:///default"), "\(message)")
    }
}

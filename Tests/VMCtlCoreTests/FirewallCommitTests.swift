import Foundation
import LibvirtXML
import Testing
@testable import VMCtlCore

/// The commit path's pure parts: staging a change on the inputs, rendering before saving, and leaving out
/// only what state broken from outside breaks.
@Suite struct FirewallCommitTests {
    typealias F = FirewallFixtures

    static func metadata(id: String, forwards: [ForwardRule] = [], groups: [String] = []) -> VMMetadata {
        var metadata = VMMetadata(image: "tiny", flavor: nil, instanceID: id, hostname: "h", accelerator: "tcg",
                                        created: "", volumes: [:])
        metadata.forwards = forwards
        metadata.securityGroups = groups
        return metadata
    }

    static let ssh = ForwardRule(name: "tcp-2222", proto: .tcp, hostAddress: nil, hostPort: 2222, guestPort: 22)

    /// Two VMs on the nat fixture network, `web` with a forward, and a pool on `eth0` with one address
    /// associated with `db`.
    static var inputs: FirewallInputs {
        var inputs = FirewallInputs()
        inputs.networks = [F.nat]
        inputs.pins = ["52:54:00:00:00:01": .init(network: "vmctl", address: F.ip("10.77.0.10")),
                       "52:54:00:00:00:02": .init(network: "vmctl", address: F.ip("10.77.0.11"))]
        inputs.vms = [.init(name: "web", mac: "52:54:00:00:00:01", metadata: metadata(id: "i-web", forwards: [ssh])),
                      .init(name: "db", mac: "52:54:00:00:00:02", metadata: metadata(id: "i-db"))]
        inputs.control.pools = [FloatingIPPool(name: "ext", interface: "eth0", range: IPv4Range(start: F.ip("198.51.100.50"), end: F.ip("198.51.100.59")),
                                               allocations: [.init(address: F.ip("198.51.100.50"), vm: "db", instanceID: "i-db")])]
        return inputs
    }

    static func refusal(_ staged: FirewallInputs, over current: FirewallInputs, interfaces: Set<String> = ["eth0"]) -> String? {
        do {
            try FirewallStateBuilder.admit(staged, over: current, interfaceExists: { interfaces.contains($0) })
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func aChangeThatCannotBeRenderedIsRefusedNamingTheConflict() {
        var staged = Self.inputs
        staged.vms[1].metadata.forwards = [Self.ssh]
        let refusal = Self.refusal(staged, over: Self.inputs)
        #expect(refusal?.contains("both take tcp *:2222") == true, "\(refusal ?? "admitted")")
        #expect(refusal?.contains("'db'") == true || refusal?.contains("'web'") == true)
    }

    @Test func aChangeThatRendersIsAdmitted() {
        var staged = Self.inputs
        staged.vms[1].metadata.forwards = [ForwardRule(name: "tcp-2223", proto: .tcp, hostAddress: nil, hostPort: 2223, guestPort: 22)]
        #expect(Self.refusal(staged, over: Self.inputs) == nil)
    }

    @Test func aPoolWhoseInterfaceVanishedIsLeftOutWithAWarningAndTheRestStillRenders() throws {
        let (state, leftOut) = FirewallStateBuilder.renderableState(of: Self.inputs, interfaceExists: { _ in false })
        #expect(state.floatingIPs.isEmpty)
        #expect(state.forwards.map(\.name) == ["tcp-2222"], "the other objects' rules stay")
        #expect(leftOut.count == 1)
        #expect(leftOut.first?.description.contains("pool 'ext'") == true)
        #expect(leftOut.first?.description.contains("interface 'eth0'") == true)
        _ = try FirewallRenderer.render(state)
    }

    @Test func driftFromOutsideDoesNotBlockUnrelatedChangesButDoesBlockChangesThatNeedTheBrokenObject() {
        // The pool's interface is gone: the address of `db` is left out already.
        var unrelated = Self.inputs
        unrelated.vms[1].metadata.forwards = [ForwardRule(name: "tcp-2223", proto: .tcp, hostAddress: nil, hostPort: 2223, guestPort: 22)]
        #expect(Self.refusal(unrelated, over: Self.inputs, interfaces: []) == nil)

        var needsPool = Self.inputs
        needsPool.control.pools[0].allocations.append(.init(address: F.ip("198.51.100.51"), vm: "web", instanceID: "i-web"))
        let refusal = Self.refusal(needsPool, over: Self.inputs, interfaces: [])
        #expect(refusal?.contains("interface 'eth0' does not exist") == true, "\(refusal ?? "admitted")")
    }

    @Test func stateTheRendererRejectsIsRenderedWithoutTheObjectsItBreaks() throws {
        // What a clone that copied its source's forward left on hosts before this fix.
        var state = F.full
        state.forwards.append(PortForward(name: "ssh", vm: "q9", proto: .tcp, hostAddress: nil, hostPort: 2222,
                                          guestAddress: F.ip("10.77.0.12"), guestPort: 22, network: "vmctl"))
        #expect(throws: VMCtlError.self) { try FirewallRenderer.render(state) }
        let (kept, leftOut) = state.renderable()
        #expect(leftOut.map(\.object) == ["port forward 'ssh' of VM 'q9'"])
        #expect(kept.forwards.count == F.full.forwards.count)
        #expect(kept.floatingIPs == F.full.floatingIPs)
        #expect(kept.securityGroups == F.full.securityGroups)
        _ = try FirewallRenderer.render(kept)
    }

    @Test func aPortWhoseAddressesCannotBeKeptSendsNothingRatherThanAnything() throws {
        // A domain defined outside vmctl whose MAC reservation claims another guest's address.
        var state = F.full
        state.ports.append(GuestPort(vm: "intruder", network: "vmctl", port: "vnet9", mac: F.mac("52:54:00:00:00:99"),
                                     addresses: [F.ip("10.77.0.10")]))
        #expect(throws: VMCtlError.self) { try FirewallRenderer.render(state) }
        let (kept, leftOut) = state.renderable()
        #expect(leftOut.map(\.object) == ["port 'vnet9' of VM 'intruder'"])
        let intruder = try #require(kept.ports.first { $0.port == "vnet9" })
        #expect(intruder.addresses.isEmpty)
        #expect(kept.ports.filter { $0.port != "vnet9" } == F.full.ports)
        let script = try FirewallRenderer.render(kept)
        #expect(script.contains("\"vnet9\" . 52:54:00:00:00:99"))
        #expect(!script.contains("\"vnet9\" . 10.77.0.10"))
    }

    @Test func aBrokenRuleCostsOnlyThatRule() {
        var state = F.full
        state.securityGroups[0].rules.append(.init(id: "from-gone", proto: .tcp, ports: try! PortRange(22...22), remote: .group("gone")))
        let (kept, leftOut) = state.renderable()
        #expect(leftOut.map(\.object) == ["rule 'from-gone' of security group 'web'"])
        #expect(kept.securityGroups[0].rules == F.web.rules)
        #expect(kept.guests == F.full.guests)
    }

    @Test func aVMWhoseMetadataCannotBeReadIsLeftOutByNameNotSilently() {
        var inputs = Self.inputs
        inputs.vms.removeAll { $0.name == "web" }
        inputs.unreadableVMs = ["web": "VM 'web': vmctl's metadata has an unreadable forward 'tcp-2222'"]
        let (state, leftOut) = FirewallStateBuilder.state(of: inputs, interfaceExists: { _ in true })
        #expect(!state.guests.contains { $0.vm == "web" })
        #expect(leftOut.map(\.object) == ["VM 'web'"])
        #expect(leftOut.first?.reason.contains("tcp-2222") == true)
    }

    @Test func aFloatingIPIsBoundToTheVMItWasAssociatedWithNotToItsName() {
        var inputs = Self.inputs
        // `db` was deleted and made again: same name, new instance id.
        inputs.vms[1].metadata.instanceID = "i-db-new"
        #expect(FirewallStateBuilder.state(of: inputs, interfaceExists: { _ in true }).state.floatingIPs.isEmpty)
        // States written before the instance id was kept still bind by name.
        inputs.control.pools[0].allocations[0].instanceID = nil
        #expect(FirewallStateBuilder.state(of: inputs, interfaceExists: { _ in true }).state.floatingIPs.map(\.vm) == ["db"])
    }

    @Test(arguments: [60, 61, 62, 63])
    func ruleIdsOfLongGroupNamesFitAndRender(length: Int) throws {
        let name = String(repeating: "g", count: length - 2) + "-x"
        try ResourceName.validate(name, kind: "security group")
        var group = SecurityGroup(name: name, rules: [])
        for number in 1...12 {
            let id = SecurityGroups.nextRuleID(in: group)
            try ResourceName.validate(id, kind: "rule")
            #expect(!group.rules.contains { $0.id == id })
            group.rules.append(.init(id: id, proto: .tcp, ports: try PortRange(UInt16(number)...UInt16(number)), remote: nil))
        }
        var state = F.full
        state.securityGroups.append(group)
        _ = try FirewallRenderer.render(state)
    }

    @Test func shortGroupNamesKeepTheirRuleIds() {
        #expect(SecurityGroups.nextRuleID(in: SecurityGroup(name: "web", rules: [.init(id: "web-1", proto: .icmp, ports: nil, remote: nil)])) == "web-2")
    }

    @Test func aGroupNamedByAnotherGroupsRuleIsFound() {
        let groups = [SecurityGroup(name: "db", rules: [.init(id: "db-1", proto: .tcp, ports: try! PortRange(5432...5432), remote: .group("app"))]),
                      SecurityGroup(name: "app", rules: [.init(id: "app-1", proto: .tcp, ports: try! PortRange(80...80), remote: .group("app"))])]
        let found = SecurityGroups.reference(to: "app", in: groups)
        #expect(found?.0.name == "db")
        #expect(found?.1.id == "db-1")
        #expect(SecurityGroups.reference(to: "db", in: groups) == nil, "a group's rules naming itself go with it")
    }

    @Test func aControlStoreWithoutItsStateIsAnErrorNotAnEmptyState() throws {
        #expect(throws: VMCtlError.self) { try ControlStore.decode(nil) }
        let garbage = XML.Element("vmctl:control", text: "{not json")
        #expect(throws: VMCtlError.self) { try ControlStore.decode(garbage) }
        let state = try ControlStore.decode(XML.Element("vmctl:control", text: #"{"version":1,"pools":[],"securityGroups":[],"routers":[]}"#))
        #expect(state == ControlState())
    }

    @Test func metadataWithAnUnreadableForwardIsAnErrorForAChange() throws {
        var element = Self.metadata(id: "i-1", forwards: [Self.ssh]).element
        element.append(XML.Element("vmctl:forward", attributes: [("name", "odd"), ("proto", "sctp"), ("host-port", "1"), ("guest-port", "1")]))
        #expect(VMMetadata(element: element)?.forwards == [Self.ssh], "shown, skipping what it cannot read")
        #expect(throws: VMCtlError.self) { try VMMetadata(element: element, strict: true) }
    }

    @Test func theControlStoresNameIsReservedForNetworks() {
        #expect(throws: VMCtlError.self) { try NetworkSpec(name: ControlStore.networkName, subnet: "10.200.0.0/24") }
        #expect(throws: VMCtlError.self) { try ControlStore.requireNotReserved(network: "vmctl-control") }
        #expect(throws: Never.self) { try ControlStore.requireNotReserved(network: "vmctl-control2") }
    }
}

import Foundation
import Testing
@testable import VMCtlCore

/// Ports, port ranges, addresses and CIDRs: each parsed in one place, refused with one line, spelled one way.
@Suite struct NetworkValueTests {
    @Test func portsAreOneTo65535() throws {
        #expect(try Port(parsing: "22").number == 22)
        #expect(try Port(parsing: "65535").number == 65535)
        for text in ["0", "65536", "-1", "", "2 2", "0x16", "ssh", "99999999999999999999"] {
            #expect(throws: VMCtlError.self, "\(text)") { try Port(parsing: text) }
        }
        #expect(throws: VMCtlError.self) { try Port(0) }
        let error = #expect(throws: VMCtlError.self) { try Port(parsing: "0", what: "host port") }
        #expect(error?.description == "invalid host port '0': use 1-65535")
    }

    @Test func rangesAreOrderedAndSpelledOneWay() throws {
        #expect(try PortRange(parsing: "80").description == "80")
        #expect(try PortRange(parsing: "8000-8080").description == "8000-8080")
        #expect(try PortRange(parsing: "80-80").description == "80")
        for text in ["8080-8000", "1-2-3", "-80", "80-", "0-10", ""] {
            #expect(throws: VMCtlError.self, "\(text)") { try PortRange(parsing: text) }
        }
    }

    /// The control state stored ranges as `ClosedRange<UInt16>` before: the new type reads and writes that form,
    /// and a stored range that breaks the rules is an error, not a rule.
    @Test func rangesKeepTheStoredForm() throws {
        let stored = try JSONEncoder().encode(UInt16(8000)...UInt16(8080))
        let range = try JSONDecoder().decode(PortRange.self, from: stored)
        #expect(range.description == "8000-8080")
        #expect(try JSONEncoder().encode(range) == stored)
        for bad in ["[80,70]", "[0,10]", "[80]", "\"80\""] {
            #expect(throws: (any Error).self, "\(bad)") { try JSONDecoder().decode(PortRange.self, from: Data(bad.utf8)) }
        }
    }

    @Test func icmpTakesNoPorts() throws {
        #expect(throws: VMCtlError.self) { try SecurityGroup.RuleProtocol.icmp.check(ports: try PortRange(parsing: "1")) }
        try SecurityGroup.RuleProtocol.icmp.check(ports: nil)
        try SecurityGroup.RuleProtocol.tcp.check(ports: try PortRange(parsing: "1-2"))
    }

    @Test func ruleCIDRsNameTheirNetworkExactly() throws {
        #expect(try IPv4Subnet(networkCIDR: "198.51.100.0/24", what: "remote CIDR").description == "198.51.100.0/24")
        #expect(try IPv4Subnet(networkCIDR: "0.0.0.0/0", what: "remote CIDR").prefix == 0)
        for text in ["198.51.100.7/24", "198.51.100.0", "198.51.100.0/33", "198.51.100.0/-1", "198.51.100.0/ 24", "a/8"] {
            #expect(throws: VMCtlError.self, "\(text)") { try IPv4Subnet(networkCIDR: text, what: "remote CIDR") }
        }
    }

    @Test func addressesAreFourDecimalOctets() throws {
        #expect(try IPv4Address(parsing: "203.0.113.9", what: "floating IP").value == 0xCB00_7109)
        for text in ["203.0.113", "203.0.113.256", "203.0.113.9.1", "0x1.0.0.1", "203.0.113.-1", "", "١.٢.٣.٤"] {
            #expect(throws: VMCtlError.self, "\(text)") { try IPv4Address(parsing: text, what: "floating IP") }
        }
    }
}

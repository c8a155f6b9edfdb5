@testable import VMCtlCore

/// Firewall states shared by the renderer tests, the namespace tests and the benchmark's script writer.
enum FirewallFixtures {
    static func ip(_ text: String) -> IPv4Address { IPv4Address(text)! }
    static func net(_ text: String) -> IPv4Subnet { IPv4Subnet(text)! }

    static let nat = NetworkRules(name: "vmctl", bridge: "vmctl0", subnet: net("10.77.0.0/24"), gateway: ip("10.77.0.1"), mode: .nat)
    static let routed = NetworkRules(name: "lab", bridge: "vmctl1", subnet: net("10.78.0.0/24"), gateway: ip("10.78.0.1"), mode: .routed)
    static let isolated = NetworkRules(name: "quiet", bridge: "vmctl2", subnet: net("10.79.0.0/24"), gateway: ip("10.79.0.1"), mode: .isolated)

    static let web = SecurityGroup(name: "web", rules: [
        .init(id: "http", proto: .tcp, ports: try! PortRange(80...80), remote: nil),
        .init(id: "alt", proto: .tcp, ports: try! PortRange(8000...8100), remote: .cidr(net("10.0.0.0/8"))),
        .init(id: "ping", proto: .icmp, ports: nil, remote: .group("web")),
        .init(id: "dns", proto: .udp, ports: nil, remote: .cidr(net("0.0.0.0/0"))),
    ])

    /// Every feature at once: three networks, a router, forwards of each kind, a floating IP, groups.
    static var full: FirewallState {
        FirewallState(
            networks: [nat, routed, isolated],
            forwards: [
                PortForward(name: "ssh", vm: "web", proto: .tcp, hostAddress: nil, hostPort: 2222,
                            guestAddress: ip("10.77.0.10"), guestPort: 22, network: "vmctl"),
                PortForward(name: "http", vm: "web", proto: .tcp, hostAddress: ip("127.0.0.1"), hostPort: 8080,
                            guestAddress: ip("10.77.0.10"), guestPort: 80, network: "vmctl"),
                PortForward(name: "dns", vm: "db", proto: .udp, hostAddress: ip("198.51.100.1"), hostPort: 5353,
                            guestAddress: ip("10.77.0.11"), guestPort: 53, network: "vmctl"),
            ],
            floatingIPs: [
                FloatingIPBinding(address: ip("198.51.100.50"), interface: "eth0", vm: "db",
                                  guestAddress: ip("10.77.0.11"), network: "vmctl"),
            ],
            securityGroups: [web],
            guests: [
                Guest(vm: "web", address: ip("10.77.0.10"), network: "vmctl", groups: []),
                Guest(vm: "db", address: ip("10.77.0.11"), network: "vmctl", groups: ["web"]),
                Guest(vm: "lab1", address: ip("10.78.0.5"), network: "lab", groups: ["web", "default"]),
                Guest(vm: "q1", address: ip("10.79.0.5"), network: "quiet", groups: []),
            ],
            routers: [Router(name: "r1", networks: ["vmctl", "lab"])],
            ports: [
                GuestPort(vm: "web", network: "vmctl", port: "vnet0", mac: mac("52:54:00:00:00:0a"), addresses: [ip("10.77.0.10")]),
                GuestPort(vm: "db", network: "vmctl", port: "vnet1", mac: mac("52:54:00:00:00:0B"), addresses: [ip("10.77.0.11")]),
                GuestPort(vm: "q1", network: "quiet", port: "vnet2", mac: mac("52:54:00:00:00:0c"), addresses: [ip("10.79.0.5")]),
            ])
    }

    static func mac(_ text: String) -> MACAddress { try! MACAddress(text) }

    /// The benchmark's state: `forwards` TCP forwards on 198.51.100.1 and `floating` floating IPs,
    /// spread over 250 guests of one NAT network 10.90.0.0/16.
    static func bench(forwards: Int = 200, floating: Int = 50, uplink: String = "up0") -> FirewallState {
        let network = NetworkRules(name: "bench", bridge: "fwb0", subnet: net("10.90.0.0/16"), gateway: ip("10.90.0.1"), mode: .nat)
        func guest(_ i: Int) -> IPv4Address { IPv4Address(value: ip("10.90.1.0").value + UInt32(i)) }
        let pf = (0..<forwards).map { i in
            PortForward(name: "pf\(i)", vm: "vm\(i)", proto: .tcp, hostAddress: ip("198.51.100.1"), hostPort: UInt16(20000 + i),
                        guestAddress: guest(i), guestPort: 22, network: "bench")
        }
        let fips = (0..<floating).map { i in
            FloatingIPBinding(address: IPv4Address(value: ip("198.51.100.100").value + UInt32(i)), interface: uplink,
                              vm: "vm\(forwards + i)", guestAddress: guest(forwards + i), network: "bench")
        }
        let guests = (0..<(forwards + floating)).map { i in
            Guest(vm: "vm\(i)", address: guest(i), network: "bench", groups: i % 2 == 0 ? ["web"] : [])
        }
        return FirewallState(networks: [network], forwards: pf, floatingIPs: fips, securityGroups: [web], guests: guests)
    }

    /// The same forwards and floating IPs as iptables commands (arguments after `iptables`), one rule per
    /// call, as a tool without sets would add them: DNAT, filter accept, and SNAT for floating IPs.
    static func benchIPTables(_ state: FirewallState) -> [[String]] {
        var commands: [[String]] = [
            ["-t", "nat", "-N", "VMCTL_PRE"], ["-t", "nat", "-A", "PREROUTING", "-j", "VMCTL_PRE"],
            ["-t", "nat", "-N", "VMCTL_POST"], ["-t", "nat", "-A", "POSTROUTING", "-j", "VMCTL_POST"],
            ["-N", "VMCTL_FWD"], ["-A", "FORWARD", "-j", "VMCTL_FWD"],
        ]
        for f in state.forwards {
            commands.append(["-t", "nat", "-A", "VMCTL_PRE", "-d", "\(f.hostAddress!)", "-p", "tcp", "--dport", "\(f.hostPort)",
                             "-j", "DNAT", "--to-destination", "\(f.guestAddress):\(f.guestPort)"])
            commands.append(["-A", "VMCTL_FWD", "-d", "\(f.guestAddress)", "-p", "tcp", "--dport", "\(f.guestPort)",
                             "-m", "conntrack", "--ctstate", "DNAT", "-j", "ACCEPT"])
        }
        for b in state.floatingIPs {
            commands.append(["-t", "nat", "-A", "VMCTL_PRE", "-d", "\(b.address)", "-j", "DNAT", "--to-destination", "\(b.guestAddress)"])
            commands.append(["-t", "nat", "-A", "VMCTL_POST", "-s", "\(b.guestAddress)", "-o", b.interface, "-j", "SNAT", "--to-source", "\(b.address)"])
        }
        for network in state.networks where network.mode == .nat {
            commands.append(["-t", "nat", "-A", "VMCTL_POST", "-s", "\(network.subnet)", "!", "-o", network.bridge, "-j", "MASQUERADE"])
        }
        return commands
    }
}

/// Renders vmctl's whole firewall, a pure function of `FirewallState`, as one nftables script.
///
/// vmctl's networks are defined with `<forward mode='open'/>`, so libvirt adds no rules for them and vmctl
/// owns every rule its guests depend on: masquerade, isolation, port forwards, floating IPs, security
/// groups and routers. They live in two tables, `table ip vmctl` and `table bridge vmctl` (anti-spoofing
/// on the guests' bridge ports), which the script replaces in a single transaction (`nft -f`): it creates
/// the tables if missing, deletes them and defines them anew, so a reader never sees half a rule set and
/// a failing script changes nothing.
///
/// Layout of the table (names of chains and sets are fixed words and indexes; user-chosen names of
/// networks, VMs, forwards and groups appear only in comments, after `ResourceName.validate`):
///
/// | object | kind | what it does |
/// |---|---|---|
/// | `bridges` | set of ifname | every vmctl bridge (by name, so rules survive `net-destroy` + `net-start`) |
/// | `nat_subnets` | interval set | subnets of `nat` networks, masqueraded when leaving for non-vmctl interfaces |
/// | `subnets`, `gateways` | interval set, set | every vmctl network's subnet and gateway (the host's own traffic) |
/// | `fip_addrs` | set | floating addresses |
/// | `fip_dnat` | map address → guest | floating IP in (all protocols, then security groups) |
/// | `fip_snat` | map guest . ifname → address | floating IP out, when leaving through the floating IP's interface |
/// | `pf_tcp`, `pf_udp` | map host address . port → guest . port | forwards bound to one host address |
/// | `pf_any_tcp`, `pf_any_udp` | map port → guest . port | forwards on every local address (`fib daddr type local`) |
/// | `pf_targets` | set guest . proto . port | the forwarded destinations, allowed through the forward filter |
/// | `sg_N_members` | set | addresses of the members of security group N (groups sorted by name) |
/// | chain `guard` | filter, prerouting, priority mangle (-150) | drops 127/8 arriving on other interfaces than lo (route_localnet) |
/// | chain `prerouting` | nat, prerouting, priority dstnat (-100) | → `dnat_rules` (traffic from outside and from guests: hairpin), not for isolated bridges |
/// | chain `output` | nat, output, priority -100 | → `dnat_rules` (connections the host itself makes: 127.0.0.1:2222) |
/// | chain `dnat_rules` | regular | floating IPs first, then forwards on one address, then forwards on any local address |
/// | chain `postrouting` | nat, postrouting, priority srcnat (100) | SNAT to the gateway of DNAT'd connections from the host or from the guest's own subnet, floating SNAT, masquerade |
/// | chain `forward` | filter, forward, priority filter (0) | replies, isolated bridges kept in, forwarded ports, then per-bridge chains through two verdict maps |
/// | chain `host_out` | filter, output, priority filter (0) | the host's own packets into bridges: replies, DHCP answers, management group, forwarded ports, then `to_N` |
/// | chain `host_in` | filter, input, priority filter (0) | from isolated bridges, only DHCP and DNS reach the host |
/// | chains `to_N`, `from_N` | regular | traffic entering / leaving network N (networks sorted by name) |
/// | chain `sg_ingress`, `sg_N` | regular | security groups of the destination guest; anything no group allows is dropped |
///
/// Table `bridge vmctl`: sets `ports`, `port_macs` (port . MAC) and `port_addrs` (port . address), chain
/// `prerouting` (filter, priority filter) → `guest_port`, which lets a port send only as its guest.
///
/// Coexistence. Only tables `ip vmctl` and `bridge vmctl` are touched. Base chains use the standard priorities, so they run
/// alongside iptables-nft's and other tables' chains at the same hooks. In nftables an `accept` only ends
/// the evaluation of *this* table's chain: a packet must be accepted by every base chain of every table at
/// a hook, and a `drop` anywhere is final. Our base chains therefore have policy `accept` and drop only
/// traffic of vmctl bridges. Consequence: Docker's `FORWARD` policy `DROP` (table `ip filter`, chain
/// `FORWARD`, same hook) drops every forwarded guest packet whatever this table says — guests then reach
/// nothing outside and forwards / floating IPs do not answer. The fix is Docker's own hook, e.g.
/// `iptables -I DOCKER-USER -i vmctl0 -j ACCEPT` and `-o vmctl0 -j ACCEPT`; `vmctl doctor` warns about it.
/// With `br_netfilter` loaded (Docker loads it), traffic between guests on one bridge also crosses the
/// `forward` hook (iif and oif both the bridge): `to_N` accepts it first, and Docker's DROP drops it too.
public enum FirewallRenderer {
    public static let family = "ip"
    /// The second table, `bridge vmctl`, replaced in the same transaction: per-port anti-spoofing.
    public static let bridgeFamily = "bridge"
    public static let tableName = "vmctl"

    /// The nft script that replaces tables `ip vmctl` and `bridge vmctl` with the rules for `state`.
    /// Throws on state that is invalid or contradicts itself, before producing any text.
    public static func render(_ state: FirewallState) throws -> String {
        let plan = try FirewallPlan(state)
        return NFTScript(plan).text
    }

    /// Kernel settings the rule set depends on (applied by `FirewallApplier` in the same namespace).
    public static func requiredSysctls(_ state: FirewallState) -> [Sysctl] {
        var result: [Sysctl] = []
        if state.networks.contains(where: { $0.mode != .isolated }) {
            result.append(Sysctl(key: "net.ipv4.ip_forward", value: "1"))
        }
        // DNAT of 127.0.0.1:PORT to a guest: the rerouted packet keeps its loopback source until
        // postrouting SNATs it to the gateway, and the kernel refuses to route a loopback source out of an
        // interface (and the de-NATed reply back in) unless that interface has route_localnet. Only the
        // bridges of such forwards' guests get it, and every other vmctl bridge gets it back to 0; `conf.all`
        // is left alone (the kernel ORs it in, and other software owns it). The guard chain drops 127/8
        // arriving on any interface but lo, so a guest cannot use it to reach the host's loopback services.
        let needing = Set(state.forwards.filter(FirewallPlan.needsRouteLocalnet).map(\.network))
        for network in state.networks.sorted(by: { $0.bridge < $1.bridge }) {
            result.append(Sysctl(key: "net.ipv4.conf.\(network.bridge.replacingOccurrences(of: ".", with: "/")).route_localnet",
                                 value: needing.contains(network.name) ? "1" : "0", interface: network.bridge))
        }
        return result
    }

    /// The floating addresses the host must own (answer ARP for): each `address/32` on its interface.
    public static func floatingAddresses(_ state: FirewallState) throws -> [FloatingAddress] {
        try FirewallPlan(state).floatingIPs.map { FloatingAddress(address: $0.address, interface: $0.interface) }
    }
}

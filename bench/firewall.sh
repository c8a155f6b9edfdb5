#!/usr/bin/env bash
# bench/firewall.sh [-n RUNS]
#
# How long installing vmctl's firewall takes for 200 port forwards and 50
# floating IPs (250 guests on one NAT network, a security group), compared
# with adding the same rules the traditional way, one `iptables` call per
# rule.
#
#   nft          `nft -f bench.nft`: vmctl's rendered script, the whole table
#                replaced in ONE transaction (forwards and floating IPs are
#                map elements, not rules). Timed on first load and on reload.
#   vmctl        FirewallApplier.apply from Swift (debug build): render, list
#                the old table and the addresses, `nft -f`, sysctls, 50
#                floating addresses, list the new table and compare (what
#                `vmctl net reconcile` does). Median of 5, the first of which
#                adds the addresses.
#   iptables     the same DNATs, forward accepts, floating SNATs and
#                masquerade as 507 `iptables` calls, one rule each, into a fresh
#                namespace (Debian's iptables: the nf_tables backend).
#   restore      the same rules with one `iptables-restore` (for reference).
#
# Everything runs inside namespaces this script creates (vmctl-fwtest-bench-
# PID-*) and deletes on exit; no packet is sent. Prints medians in ms and the
# ratio iptables/nft. Asserts nothing about the timings; exits non-zero only
# if something broke. Needs root, nft, iptables, ip and swift.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_DIR
readonly NS_PREFIX=vmctl-fwtest-bench-$$

RUNS=10
usage() { echo "usage: $0 [-n RUNS]  (RUNS >= 3)" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) [[ $# -ge 2 && $2 =~ ^[0-9]+$ && $2 -ge 3 ]] || usage; RUNS=$2; shift 2 ;;
    *) usage ;;
  esac
done

die() { printf 'firewall: error: %s\n' "$*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces)"
for tool in nft iptables iptables-restore ip swift; do
  command -v "$tool" >/dev/null || die "$tool not found"
done

WORK=$(mktemp -d)
NAMESPACES=()
cleanup() {
  local ns
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# new_ns NAME: a namespace with the interfaces the rules name, up0 (uplink)
# and fwb0 (bridge); its name goes to $NS (no subshell, so cleanup knows it).
new_ns() {
  local ns=$NS_PREFIX-$1
  ip netns add "$ns"
  NAMESPACES+=("$ns")
  NS=$ns
  ip -n "$ns" link set lo up
  ip -n "$ns" link add up0 type veth peer name up0p
  ip -n "$ns" address add 198.51.100.1/24 dev up0
  ip -n "$ns" link set up0 up
  ip -n "$ns" link add fwb0 type bridge
  ip -n "$ns" address add 10.90.0.1/16 dev fwb0
  ip -n "$ns" link set fwb0 up
}

median() { sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f", m / 1000 }'; }

cd "$REPO_DIR"
echo "building the tests (renderer and fixtures)" >&2
swift build --build-tests >/dev/null
new_ns applier
APPLIER_NS=$NS
echo "rendering the scripts and timing vmctl's applier" >&2
VMCTL_FIREWALL_BENCH_DIR=$WORK VMCTL_FIREWALL_BENCH_NS=$APPLIER_NS \
  swift test --skip-build --filter 'FirewallRendererTests/(writesTheBenchmarkScripts|timesTheApplierForTheBenchmark)' >"$WORK/test.log" 2>&1 \
  || { tail -20 "$WORK/test.log" >&2; die "the script writer failed"; }
[[ -s $WORK/bench.nft && -s $WORK/bench.iptables && -s $WORK/applier.us ]] || die "the script writer wrote nothing"

forwards=$(grep -c ' : 10\.90\.[0-9.]* \. 22' "$WORK/bench.nft" || true)
floating=$(wc -l <"$WORK/bench.addresses")
calls=$(wc -l <"$WORK/bench.iptables")
echo "host: $(nproc) cores, $(nft --version), $(iptables --version)" >&2
echo "state: $forwards forwards, $floating floating IPs; nft script $(wc -c <"$WORK/bench.nft") bytes; $calls iptables calls" >&2

# nft: one transaction. The timing loop runs inside the namespace, so that
# `ip netns exec` is not counted.
new_ns nft
NFT_NS=$NS
ip netns exec "$NFT_NS" bash -c '
  script=$1 runs=$2
  for ((i = 0; i < runs; i++)); do
    nft delete table ip vmctl 2>/dev/null || true
    start=$(date +%s%N); nft -f "$script"; end=$(date +%s%N)
    echo "first $(( (end - start) / 1000 ))"
    start=$(date +%s%N); nft -f "$script"; end=$(date +%s%N)
    echo "reload $(( (end - start) / 1000 ))"
  done' _ "$WORK/bench.nft" "$RUNS" >"$WORK/nft.us"
rules=$(ip netns exec "$NFT_NS" nft -j list table ip vmctl | grep -o '{"rule":' | wc -l)
nft_first=$(awk '$1 == "first" { print $2 }' "$WORK/nft.us" | median)
nft_reload=$(awk '$1 == "reload" { print $2 }' "$WORK/nft.us" | median)
applier=$(median <"$WORK/applier.us")

# iptables: one call per rule, each run into a fresh namespace.
IPT_RUNS=3
: >"$WORK/iptables.us"
for ((run = 0; run < IPT_RUNS; run++)); do
  new_ns "ipt$run"
  ns=$NS
  ip netns exec "$ns" bash -c '
    start=$(date +%s%N)
    while read -r -a args; do iptables "${args[@]}"; done <"$1"
    end=$(date +%s%N)
    echo $(( (end - start) / 1000 ))' _ "$WORK/bench.iptables" >>"$WORK/iptables.us"
  ip netns del "$ns"
done
iptables_seq=$(median <"$WORK/iptables.us")

# iptables-restore: the same rules in one call (reference).
awk '
  { table = "filter"; line = $0
    if ($1 == "-t") { table = $2; line = substr($0, length($1) + length($2) + 3) }
    split(line, w, " ")
    if (w[1] == "-N") decl[table] = decl[table] ":" w[2] " - [0:0]\n"
    else rules[table] = rules[table] line "\n" }
  END { for (t in decl) seen[t] = 1; for (t in rules) seen[t] = 1
        for (t in seen) printf "*%s\n%s%sCOMMIT\n", t, decl[t], rules[t] }' "$WORK/bench.iptables" >"$WORK/bench.restore"
: >"$WORK/restore.us"
for ((run = 0; run < IPT_RUNS; run++)); do
  new_ns "rst$run"
  ns=$NS
  ip netns exec "$ns" bash -c '
    start=$(date +%s%N); iptables-restore --noflush <"$1"; end=$(date +%s%N)
    echo $(( (end - start) / 1000 ))' _ "$WORK/bench.restore" >>"$WORK/restore.us"
  ip netns del "$ns"
done
restore=$(median <"$WORK/restore.us")

printf '\n%-58s %10s\n' "firewall apply: $forwards forwards + $floating floating IPs" "median ms"
printf '%-58s %10s\n' "nft -f, one transaction, first load ($rules rules)" "$nft_first"
printf '%-58s %10s\n' "nft -f, one transaction, replacing the table" "$nft_reload"
printf '%-58s %10s\n' "vmctl applier (list, nft -f, sysctls, addresses, diff)" "$applier"
printf '%-58s %10s\n' "iptables, one call per rule ($calls calls)" "$iptables_seq"
printf '%-58s %10s\n' "iptables-restore, one call (reference)" "$restore"
awk -v a="$iptables_seq" -v b="$nft_first" -v c="$applier" 'BEGIN {
  printf "ratio iptables-per-rule / nft -f: %.0fx\n", a / b
  printf "ratio iptables-per-rule / vmctl applier: %.0fx\n", a / c }'

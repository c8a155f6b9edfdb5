#!/usr/bin/env bash
# bench/list.sh [-n RUNS]
#
# Whole-process wall time of `vmctl list --json` against
# `virsh -c qemu:///system list --all` on the same host and the same set of
# domains, measured with hyperfine.  Both start a process, connect to
# libvirtd over its unix socket, list the domains and exit, so the ratio shows
# what vmctl's startup (Swift runtime, argument parsing, libvirt binding) and
# its extra per-domain work (definition XML, DHCP leases) cost over virsh.
#
# Prints both means and the ratio vmctl/virsh (target: <= 1.0).  Asserts
# nothing about the timings; exits non-zero only if a command fails.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_DIR
# The release binary: a debug build would measure the unoptimised code.
readonly VMCTL=$REPO_DIR/.build/release/vmctl
readonly RESULTS_DIR=$REPO_DIR/bench/results
readonly OUT_JSON=$RESULTS_DIR/list.json
readonly URI=qemu:///system
readonly WARMUP=5   # fills the page cache and libvirtd's caches for both

RUNS=50
usage() { echo "usage: $0 [-n RUNS]  (RUNS >= 30)" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) [[ $# -ge 2 && $2 =~ ^[0-9]+$ && $2 -ge 30 ]] || usage; RUNS=$2; shift 2 ;;
    *) usage ;;
  esac
done

die() { printf 'list: error: %s\n' "$*" >&2; exit 1; }

cd "$REPO_DIR"
virsh -c "$URI" version >/dev/null 2>&1 || die "libvirtd does not answer; run scripts/bootstrap-host.sh"
echo "building the release binary" >&2
# Quiet when it works; its output explains a failure (often: sources edited
# during the build).
if ! build_log=$(swift build -c release 2>&1); then
  printf '%s\n' "$build_log" >&2
  die "swift build -c release failed"
fi
# Fail here, with the tool's own message, rather than inside hyperfine.
"$VMCTL" list --json >/dev/null
virsh -c "$URI" list --all >/dev/null

domains=$(virsh -q -c "$URI" list --all --name | awk 'NF' | wc -l)
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), domains defined: $domains" >&2

mkdir -p "$RESULTS_DIR"
# -N: run the commands directly, without a shell, so hyperfine does not
# have to subtract a shell's startup from a ~10 ms measurement.
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT_JSON" \
  --command-name "vmctl list --json" "$VMCTL list --json" \
  --command-name "virsh list --all" "virsh -c $URI list --all"

python3 - "$OUT_JSON" <<'EOF'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
vmctl, virsh = results["vmctl list --json"], results["virsh list --all"]
print()
for name, r in (("vmctl list --json", vmctl), ("virsh list --all", virsh)):
    print(f"{name:<18} mean {r['mean'] * 1e3:7.2f} ms  ± {r['stddev'] * 1e3:5.2f}  "
          f"(median {r['median'] * 1e3:.2f}, min {r['min'] * 1e3:.2f}, {len(r['times'])} runs)")
print(f"ratio vmctl/virsh: {vmctl['mean'] / virsh['mean']:.2f}  (target <= 1.0)")
print(f"results: {sys.argv[1]}")
EOF

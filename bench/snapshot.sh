#!/usr/bin/env bash
# bench/snapshot.sh [-n RUNS]
#
# Whole-process wall time of vmctl's snapshot commands against virsh doing the same on the same kind of VM
# (a tiny guest as vmctl defines it: qcow2 root overlay, read-only raw seed):
#
#   create, running   vmctl snapshot create VM S        virsh snapshot-create-as VM S   (internal, with RAM)
#   revert, running   vmctl snapshot revert VM base     virsh snapshot-revert VM base   (guest resumes running)
#   create, stopped   vmctl snapshot create VM S        virsh snapshot-create-as VM S   (internal, disks)
#   revert, stopped   vmctl snapshot revert VM base     virsh snapshot-revert VM base
#
# Each run is one process start to exit. The order alternates (odd runs vmctl first, even runs virsh first);
# snapshots made by a create run are deleted, untimed, before the next, so every create starts from the
# same snapshot count. Prints means, minimums and the ratio vmctl/virsh of the means (target <= 1.1).
# Asserts nothing about the timings; exits non-zero only if a command fails.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_DIR
readonly VMCTL=$REPO_DIR/.build/release/vmctl
readonly URI=qemu:///system
readonly RUNNING=snap-bench-run
readonly STOPPED=snap-bench-off

RUNS=7
usage() { echo "usage: $0 [-n RUNS]  (RUNS >= 5)" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) [[ $# -ge 2 && $2 =~ ^[0-9]+$ && $2 -ge 5 ]] || usage; RUNS=$2; shift 2 ;;
    *) usage ;;
  esac
done

die() { printf 'snapshot: error: %s\n' "$*" >&2; exit 1; }
virsh_() { virsh -q -c "$URI" "$@"; }

cleanup() {
  for vm in "$RUNNING" "$STOPPED"; do
    if virsh_ dominfo "$vm" >/dev/null 2>&1; then "$VMCTL" delete "$vm" >/dev/null 2>&1 || true; fi
  done
}
trap cleanup EXIT

cd "$REPO_DIR"
virsh_ version >/dev/null 2>&1 || die "libvirtd does not answer; run scripts/bootstrap-host.sh"
echo "building the release binary" >&2
swift build -c release >/dev/null
cleanup

"$VMCTL" create "$RUNNING" --memory 256M --start >/dev/null 2>&1 || die "cannot create $RUNNING"
"$VMCTL" create "$STOPPED" --memory 256M >/dev/null 2>&1 || die "cannot create $STOPPED"
# Let the guest boot fully, so its RAM is what a snapshot of a working guest holds.
"$VMCTL" ip "$RUNNING" --wait 120 >/dev/null || die "$RUNNING did not come up"
"$VMCTL" snapshot create "$RUNNING" base >/dev/null
"$VMCTL" snapshot create "$STOPPED" base >/dev/null
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), other running VMs: $(( $(virsh_ list --name | awk 'NF' | wc -l) - 1 ))" >&2

# Milliseconds taken by one command (its output discarded; a failure stops the benchmark).
time_ms() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null || die "failed: $*"
  end=$(date +%s%N)
  echo $(( (end - start) / 1000 ))
}

declare -A TIMES
record() { TIMES[$1]+="$2 "; }

bench_create() {  # label vm
  local label=$1 vm=$2 i t
  for ((i = 1; i <= RUNS; i++)); do
    local order=(vmctl virsh)
    (( i % 2 == 0 )) && order=(virsh vmctl)
    for tool in "${order[@]}"; do
      if [[ $tool == vmctl ]]; then
        t=$(time_ms "$VMCTL" snapshot create "$vm" "b$i-vmctl")
      else
        t=$(time_ms virsh -c "$URI" snapshot-create-as "$vm" "b$i-virsh")
      fi
      record "$label/$tool" "$t"
      virsh_ snapshot-delete "$vm" "b$i-$tool" >/dev/null
    done
  done
}

bench_revert() {  # label vm
  local label=$1 vm=$2 i t
  for ((i = 1; i <= RUNS; i++)); do
    local order=(vmctl virsh)
    (( i % 2 == 0 )) && order=(virsh vmctl)
    for tool in "${order[@]}"; do
      if [[ $tool == vmctl ]]; then
        t=$(time_ms "$VMCTL" snapshot revert "$vm" base)
      else
        t=$(time_ms virsh -c "$URI" snapshot-revert "$vm" base)
      fi
      record "$label/$tool" "$t"
    done
  done
}

echo "runs: $RUNS per command, alternating order" >&2
bench_create "create, running" "$RUNNING"
bench_revert "revert, running" "$RUNNING"
bench_create "create, stopped" "$STOPPED"
bench_revert "revert, stopped" "$STOPPED"
[[ $(virsh_ domstate "$RUNNING") == running ]] || die "$RUNNING is not running after its reverts"

DATA=$(mktemp)
for label in "create, running" "revert, running" "create, stopped" "revert, stopped"; do
  echo "$label|${TIMES[$label/vmctl]}|${TIMES[$label/virsh]}" >>"$DATA"
done
python3 - "$DATA" <<'PY'
import sys
print(f"{'operation':<17} {'vmctl mean':>11} {'virsh mean':>11} {'vmctl min':>10} {'virsh min':>10} {'ratio':>6}")
for line in open(sys.argv[1]):
    label, a, b = line.rstrip("\n").split("|")
    a = [int(x) / 1000 for x in a.split()]
    b = [int(x) / 1000 for x in b.split()]
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    print(f"{label:<17} {ma:8.1f} ms {mb:8.1f} ms {min(a):7.1f} ms {min(b):7.1f} ms {ma / mb:6.2f}")
    print("  runs (ms) vmctl: " + " ".join(f"{x:.0f}" for x in a) + "   virsh: " + " ".join(f"{x:.0f}" for x in b))
print("ratio = vmctl mean / virsh mean (target <= 1.1)")
PY
rm -f "$DATA"

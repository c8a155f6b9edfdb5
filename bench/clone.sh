#!/usr/bin/env bash
# bench/clone.sh [-n RUNS] [-s SIZES]
#
# Whole-process wall time of cloning a STOPPED VM whose disk holds SIZE of data (default 200M,1G,4G):
#
#   linked     vmctl clone SRC NEW --linked       (overlay on SRC's disk; target: constant in SIZE, <= 50 ms)
#   full       vmctl clone SRC NEW --full         (flattened copy made by libvirtd)
#   virt-clone virt-clone --connect qemu:///system --original SRC --auto-clone --name NEW   (copies the disk)
#   raw        dd of the flattened copy's size from SRC's disk file to a scratch file, in the page cache
#   raw+fsync  the same with conv=fsync: the physical floor of a copy that reaches the disk
#
# The source is made with `vmctl create bc-src-SIZE --disk 8G` (never started); its qcow2 overlay is then
# filled on the host with `qemu-io -c "write -P 0x5a OFFSET LENGTH"` in 1 GiB pieces (patterned, so nothing is zero) and synced.
# No guest boots and no packet is sent.
#
# Each run times every variant once. The order alternates (odd runs in the order above, even runs
# reversed); after each measurement the clone or scratch file is removed and the file system synced,
# untimed, so one copy's write-back does not land in the next one's window. The source's data stays in
# the page cache for every variant alike. Prints means, minimums and the ratios
#   virt-clone / linked (target >= 10x at 1 GiB), full / virt-clone (target <= 1.1), full / raw+fsync.
# Asserts nothing about the timings; exits non-zero only if a command fails.
#
# virt-clone's clone keeps vmctl's metadata (which names the source's volumes), so it is never given to
# `vmctl delete`: the script deletes its new root volume by path and undefines it. Its read-only seed
# disk is shared with the source (virt-clone does not copy read-only disks), so it is left alone.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_DIR
readonly VMCTL=$REPO_DIR/.build/release/vmctl
readonly URI=qemu:///system
readonly POOL_DIR=/var/lib/vmctl/pool
readonly LINKED=bc-linked FULL=bc-full VCLONE=bc-vclone
readonly VARIANTS=(linked full virt-clone raw raw+fsync)

RUNS=3
SIZES=200M,1G,4G
usage() { echo "usage: $0 [-n RUNS] [-s SIZES]  (RUNS >= 3; SIZES like 200M,1G,4G, each < 8G)" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) [[ $# -ge 2 && $2 =~ ^[0-9]+$ && $2 -ge 3 ]] || usage; RUNS=$2; shift 2 ;;
    -s) [[ $# -ge 2 && $2 =~ ^[0-9]+[KMG](,[0-9]+[KMG])*$ ]] || usage; SIZES=$2; shift 2 ;;
    *) usage ;;
  esac
done
IFS=, read -r -a SIZE_LIST <<<"$SIZES"
for size in "${SIZE_LIST[@]}"; do
  (( $(numfmt --from=iec "$size") < 8 * 1024 ** 3 )) || usage
done

die() { printf 'clone: error: %s\n' "$*" >&2; exit 1; }
virsh_() { virsh -q -c "$URI" "$@"; }
exists() { virsh_ dominfo "$1" >/dev/null 2>&1; }

SCRATCH=""
SOURCES=()

# virt-clone's clone: delete only its own root disk (never a path that a vmctl VM named bc-src-* owns), then
# the domain. Also removes a root copy left behind by an interrupted virt-clone.
remove_vclone() {
  local path
  if exists "$VCLONE"; then
    path=$(virsh_ domblklist "$VCLONE" --details | awk '$3 == "vda" { print $4 }')
    if [[ $path == "$POOL_DIR"/vm-bc-src-*-root-clone*.qcow2 ]]; then
      virsh_ vol-delete "$path" >/dev/null
    fi
    virsh_ undefine "$VCLONE" >/dev/null
  fi
  for path in "$POOL_DIR"/vm-bc-src-*-root-clone*.qcow2; do
    [[ -e $path ]] || continue
    virsh_ vol-delete "$path" >/dev/null 2>&1 || rm -f -- "$path"
  done
}

remove_clones() {
  for vm in "$LINKED" "$FULL"; do
    if exists "$vm"; then "$VMCTL" delete "$vm" >/dev/null; fi
  done
  remove_vclone
  if [[ -n $SCRATCH ]]; then rm -f -- "$SCRATCH"; fi
}

cleanup() {
  set +e
  remove_clones 2>/dev/null
  # Sources after their clones: vmctl refuses to delete the base of a linked clone.
  for vm in "${SOURCES[@]}"; do
    if exists "$vm"; then "$VMCTL" delete "$vm" >/dev/null 2>&1; fi
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cd "$REPO_DIR"
virsh_ version >/dev/null 2>&1 || die "libvirtd does not answer; run scripts/bootstrap-host.sh"
command -v qemu-io >/dev/null || die "qemu-io is missing (apt-get install qemu-utils)"
if ! command -v virt-clone >/dev/null; then
  echo "installing virtinst (virt-clone)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y virtinst >/dev/null || die "cannot install virtinst"
fi
echo "building the release binary" >&2
swift build -c release >/dev/null
SCRATCH=$(mktemp -p /var/tmp bc-raw-copy.XXXXXX)
[[ $(stat -c %d "$SCRATCH") == $(stat -c %d "$POOL_DIR") ]] || echo "note: /var/tmp is not on the pool's file system" >&2
remove_clones
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), other running VMs: $(virsh_ list --name | awk 'NF' | wc -l)" >&2

# Milliseconds (3 decimals) taken by one command, its output discarded; a failure stops the benchmark.
time_ms() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || die "failed: $*"
  end=$(date +%s%N)
  printf '%d.%03d\n' $(( (end - start) / 1000000 )) $(( (end - start) / 1000 % 1000 ))
}

declare -A TIMES FLAT_BYTES
record() { TIMES[$1]+="$2 "; }

# One measurement of one variant, then the untimed removal of what it made.
measure() {  # size source variant
  local size=$1 src=$2 variant=$3 t bytes
  case $variant in
    linked)
      t=$(time_ms "$VMCTL" clone "$src" "$LINKED" --linked)
      "$VMCTL" delete "$LINKED" >/dev/null ;;
    full)
      t=$(time_ms "$VMCTL" clone "$src" "$FULL" --full)
      bytes=$(stat -c %s "$POOL_DIR/vm-$FULL-root.qcow2")
      FLAT_BYTES[$size]=${FLAT_BYTES[$size]:-$bytes}
      "$VMCTL" delete "$FULL" >/dev/null ;;
    virt-clone)
      t=$(time_ms virt-clone --connect "$URI" --original "$src" --auto-clone --name "$VCLONE")
      remove_vclone ;;
    raw | raw+fsync)
      local flags=()
      [[ $variant == raw+fsync ]] && flags=(conv=fsync)
      t=$(time_ms dd if="$POOL_DIR/vm-$src-root.qcow2" of="$SCRATCH" bs=4M iflag=count_bytes \
            count="${FLAT_BYTES[$size]}" "${flags[@]}")
      : >"$SCRATCH" ;;
  esac
  record "$size/$variant" "$t"
  sync -f "$POOL_DIR"
}

for size in "${SIZE_LIST[@]}"; do
  src=bc-src-${size,,}
  exists "$src" && die "VM $src already exists (another run of this benchmark?)"
  SOURCES+=("$src")
  "$VMCTL" create "$src" --disk 8G >/dev/null || die "cannot create $src"
  # qemu-io takes at most about 2 GiB per request: write in 1 GiB pieces.
  writes=()
  for ((offset = 0; offset < $(numfmt --from=iec "$size"); offset += 1024 ** 3)); do
    piece=$(( $(numfmt --from=iec "$size") - offset ))
    (( piece > 1024 ** 3 )) && piece=$(( 1024 ** 3 ))
    writes+=(-c "write -P 0x5a $offset $piece")
  done
  qemu-io "${writes[@]}" "$POOL_DIR/vm-$src-root.qcow2" >/dev/null || die "cannot fill $src's disk"
  sync -f "$POOL_DIR"
  virsh_ pool-refresh vmctl >/dev/null
  # The raw copies need the flattened size, which a first full clone gives: make one, untimed.
  "$VMCTL" clone "$src" "$FULL" --full >/dev/null 2>&1 || die "cannot full-clone $src"
  FLAT_BYTES[$size]=$(stat -c %s "$POOL_DIR/vm-$FULL-root.qcow2")
  "$VMCTL" delete "$FULL" >/dev/null
  sync -f "$POOL_DIR"
  echo "size $size: source disk file $(stat -c %s "$POOL_DIR/vm-$src-root.qcow2") bytes, flattened copy ${FLAT_BYTES[$size]} bytes; $RUNS runs" >&2
  for ((i = 1; i <= RUNS; i++)); do
    order=("${VARIANTS[@]}")
    if (( i % 2 == 0 )); then order=(raw+fsync raw virt-clone full linked); fi
    for variant in "${order[@]}"; do measure "$size" "$src" "$variant"; done
    echo "  run $i done" >&2
  done
  # Free the source's space before the next size.
  "$VMCTL" delete "$src" >/dev/null
done

DATA=$(mktemp)
for size in "${SIZE_LIST[@]}"; do
  line="$size|${FLAT_BYTES[$size]}"
  for variant in "${VARIANTS[@]}"; do line+="|${TIMES[$size/$variant]}"; done
  echo "$line" >>"$DATA"
done
python3 - "$DATA" "${VARIANTS[@]}" <<'PY'
import sys
path, variants = sys.argv[1], sys.argv[2:]
rows = []
for line in open(path):
    size, flat, *cols = line.rstrip("\n").split("|")
    times = {v: [float(x) for x in c.split()] for v, c in zip(variants, cols)}
    rows.append((size, int(flat), times))
mean = lambda xs: sum(xs) / len(xs)
print("whole-process wall time, mean (min) in ms")
print(f"{'size':>5} " + " ".join(f"{v:>18}" for v in variants))
for size, flat, t in rows:
    print(f"{size:>5} " + " ".join(f"{mean(t[v]):9.1f} ({min(t[v]):6.1f})" for v in variants))
print()
print("ratios of the means")
print(f"{'size':>5} {'virt-clone/linked':>18} {'full/virt-clone':>16} {'full/raw+fsync':>15} {'full/raw':>9} {'full MiB/s':>11} {'raw+fsync MiB/s':>16}")
for size, flat, t in rows:
    m = {v: mean(t[v]) for v in variants}
    mib = flat / 2**20
    print(f"{size:>5} {m['virt-clone'] / m['linked']:17.1f}x {m['full'] / m['virt-clone']:16.2f} "
          f"{m['full'] / m['raw+fsync']:15.2f} {m['full'] / m['raw']:9.2f} {mib / m['full'] * 1000:11.0f} "
          f"{mib / m['raw+fsync'] * 1000:16.0f}")
print("targets: linked <= 50 ms and constant in size; virt-clone/linked >= 10x at 1G; full/virt-clone <= 1.1")
print()
for size, flat, t in rows:
    print(f"runs at {size} (ms): " + "; ".join(f"{v} " + " ".join(f"{x:.0f}" for x in t[v]) for v in variants))
PY
rm -f "$DATA"

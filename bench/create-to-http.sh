#!/usr/bin/env bash
# bench/create-to-http.sh [-n RUNS] [--no-seed]
#
# Time from "I want a VM" to "the VM answers HTTP on port 80 with its name",
# end to end, three ways:
#
#   vmctl          vmctl create NAME --start; vmctl ip NAME --wait; curl until
#                  the page names NAME.
#   virsh-default  the hand-made virsh way (vol-create-as overlay, seed
#                  volume, define, start, poll net-dhcp-leases, curl) on
#                  "bench-default", a NAT network with libvirt's defaults
#                  (STP on, dnsmasq pings an address before offering it).
#   virsh-tuned    the same virsh way on vmctl's own network "vmctl" (STP off,
#                  dnsmasq no-ping), so vmctl/virsh-tuned isolates the tool
#                  from the network tuning.
#
# Each variant runs RUNS times (default 3), in alternating order so that a
# slow host phase does not always hit the same variant.  Every VM and volume
# is removed after its run, and also on Ctrl-C or failure (trap).  The
# bench-default network is removed at the end.
#
# It prints mean/min per variant, the ratios virsh-default/vmctl and
# vmctl/virsh-tuned, and the peak RSS of the `vmctl create --start` process.
# It asserts nothing about the timings; it exits non-zero only if something
# broke (e.g. a guest did not answer within TIMEOUT_S).
#
# --no-seed: the virsh variants attach no NoCloud seed (the guest then calls
# itself "tiny").  Without a seed the tiny guest waits up to 40 x 50 ms for an
# IDE CD-ROM that might hold one, so this mode charges the virsh variants for
# a guest-side wait vmctl never incurs; the default (with a seed, like vmctl)
# compares like with like.
set -euo pipefail

# ---------------------------------------------------------------------------
# Fixed names and paths
# ---------------------------------------------------------------------------
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_DIR
readonly VMCTL=$REPO_DIR/.build/release/vmctl
# Guest addresses live in the vmctl-host namespace: curl and dhcp_release
# must run there.
readonly HOSTNS=$REPO_DIR/scripts/hostns
readonly RESULTS_DIR=$REPO_DIR/bench/results
readonly URI=qemu:///system
readonly POOL=vmctl
readonly IMAGE_VOL=image-tiny.qcow2
readonly DISK_SIZE=2G          # vmctl's default disk: the guest grows /data to it
readonly MEMORY_MIB=512
readonly TUNED_NET=vmctl
readonly TUNED_PREFIX=10.77.0.
readonly DEFAULT_NET=bench-default
readonly DEFAULT_BRIDGE=vmbench0
readonly DEFAULT_PREFIX=10.78.0.
readonly VM_PREFIX=benchhttp   # VM names: benchhttp-<variant>-<run>
readonly TIMEOUT_S=120         # generous: a TCG boot takes ~5-15 s here
readonly POLL_S=0.1            # same poll interval as `vmctl ip --wait`
readonly VARIANTS=(vmctl virsh-default virsh-tuned)

RUNS=3
SEED=1

usage() { echo "usage: $0 [-n RUNS] [--no-seed]" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage; RUNS=$2; shift 2 ;;
    --no-seed) SEED=0; shift ;;
    -h|--help) usage ;;
    *) usage ;;
  esac
done

virsh_() { virsh -q -c "$URI" "$@"; }
log() { printf '%s\n' "$*" >&2; }
die() { printf 'create-to-http: error: %s\n' "$*" >&2; exit 1; }

# Microseconds since the epoch, from bash itself (no fork inside the timing).
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
secs() { python3 -c 'import sys; print(f"{int(sys.argv[1]) / 1e6:.2f}")' "$1"; }

WORK_DIR=$(mktemp -d /tmp/vmctl-bench.XXXXXX)
readonly WORK_DIR
CURRENT_VM=""           # the VM of the run in progress, for the trap
NETWORK_CREATED=0

# ---------------------------------------------------------------------------
# Cleanup
# ---------------------------------------------------------------------------

# Remove VM NAME however it was made: domain, its volumes (vmctl's
# vm-NAME-* and ours NAME-*), and its DHCP lease so addresses do not pile up
# in dnsmasq.  Every step tolerates "already gone".
remove_vm() {
  local name=$1 net mac ip vol
  if virsh_ dominfo "$name" >/dev/null 2>&1; then
    while read -r _ _ net _ mac; do
      [[ -n ${mac:-} ]] || continue
      ip=$(leased_ip "$net" "$mac" || true)
      virsh_ destroy "$name" >/dev/null 2>&1 || true
      release_lease "$net" "$mac" "$ip"
    done < <(virsh_ domiflist "$name" 2>/dev/null || true)
    virsh_ destroy "$name" >/dev/null 2>&1 || true
    virsh_ undefine "$name" >/dev/null 2>&1 || true
  fi
  for vol in "vm-$name-root.qcow2" "vm-$name-seed.iso" "$name-root.qcow2" "$name-seed.iso"; do
    if virsh_ vol-info "$vol" --pool "$POOL" >/dev/null 2>&1; then
      virsh_ vol-delete "$vol" --pool "$POOL" >/dev/null
    fi
  done
}

# Tell dnsmasq the lease is free (what `vmctl delete` does for its VMs).
release_lease() {
  local net=$1 mac=$2 ip=$3 bridge
  [[ -n $ip ]] || return 0
  bridge=$(virsh_ net-info "$net" 2>/dev/null | awk '$1 == "Bridge:" { print $2 }') || return 0
  [[ -n $bridge ]] || return 0
  "$HOSTNS" dhcp_release "$bridge" "$ip" "$mac" >/dev/null 2>&1 || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [[ -z $CURRENT_VM ]] || remove_vm "$CURRENT_VM"
  if [[ $NETWORK_CREATED -eq 1 ]] || virsh_ net-info "$DEFAULT_NET" >/dev/null 2>&1; then
    virsh_ net-destroy "$DEFAULT_NET" >/dev/null 2>&1 || true
    virsh_ net-undefine "$DEFAULT_NET" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK_DIR"
  exit "$status"
}
trap cleanup EXIT
# Ctrl-C/TERM: exit, which runs the EXIT trap above.
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# Guest helpers
# ---------------------------------------------------------------------------

# The IPv4 address NET's dnsmasq leased to MAC, if any.  Rows look like
# "2026-11-23 06:05:10  MAC  ipv4  ADDR/24  HOST  CLIENTID" (the expiry time
# has a space in it), so find the address after the "ipv4" column.
leased_ip() {
  virsh_ net-dhcp-leases "$1" --mac "$2" 2>/dev/null |
    awk '{ for (i = 1; i < NF; i++) if ($i == "ipv4") { split($(i + 1), a, "/"); print a[1]; exit } }'
}

# Remaining microseconds of the run that started at $1.
remaining_us() { echo $(($1 + TIMEOUT_S * 1000000 - $(now_us))); }

# wait_http START IP EXPECTED: poll http://IP/ until the page contains
# <title>EXPECTED</title>.
wait_http() {
  local start=$1 ip=$2 expected=$3 page
  while (($(remaining_us "$start") > 0)); do
    # As vmctl's management group: vmctl's NAT networks keep other host processes off their guests.
    page=$("$HOSTNS" setpriv --regid vmctl --clear-groups curl -s -m 1 "http://$ip/" 2>/dev/null || true)
    [[ $page == *"<title>$expected</title>"* ]] && return 0
    sleep "$POLL_S"
  done
  die "$CURRENT_VM: no HTTP answer naming '$expected' from $ip within $TIMEOUT_S s"
}

# How many running domains are not this benchmark's.
other_vms() { virsh_ list --name | awk -v p="$VM_PREFIX-" 'NF && index($0, p) != 1' | wc -l; }

# Only ever send packets to an address in the subnet of a network we (or
# vmctl) created.
check_address() {
  local ip=$1 prefix=$2
  [[ $ip =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ && $ip == "$prefix"* ]] ||
    die "$CURRENT_VM: address '$ip' is not on ${prefix}0/24; refusing to contact it"
}

# ---------------------------------------------------------------------------
# Variants.  Each prints "TOTAL_US PHASE1_US PHASE2_US" (phases: until the
# domain runs, until an address is known; the rest is HTTP).
# ---------------------------------------------------------------------------

run_vmctl() {
  local name=$1 t0 t1 t2 t3 ip
  t0=$(now_us)
  # GNU time's fork/exec costs ~1 ms against a multi-second total; it gives
  # the peak RSS of exactly the `vmctl create --start` process.
  # Its stderr (the "KVM not usable, using TCG" notice on every run) goes to
  # a file, shown only if create fails.
  /usr/bin/time -f '%M' -o "$WORK_DIR/rss-$name" \
    "$VMCTL" create "$name" --memory "${MEMORY_MIB}M" --disk "$DISK_SIZE" --network "$TUNED_NET" --start \
    >/dev/null 2>"$WORK_DIR/create-$name.err" || { cat "$WORK_DIR/create-$name.err" >&2; die "vmctl create $name failed"; }
  t1=$(now_us)
  ip=$("$VMCTL" ip "$name" --wait "$TIMEOUT_S")
  t2=$(now_us)
  check_address "$ip" "$TUNED_PREFIX"
  wait_http "$t0" "$ip" "$name"
  t3=$(now_us)
  echo "$((t3 - t0)) $((t1 - t0)) $((t2 - t1))"
}

# The plain-virsh way.  The seed ISO is built inside the timed window because
# vmctl builds its seed inside its own.
run_virsh() {
  local name=$1 net=$2 prefix=$3 t0 t1 t2 t3 mac ip seed_disk="" seed_iso
  t0=$(now_us)
  virsh_ vol-create-as "$POOL" "$name-root.qcow2" "$DISK_SIZE" --format qcow2 \
    --backing-vol "$IMAGE_VOL" --backing-vol-format qcow2 >/dev/null
  if [[ $SEED -eq 1 ]]; then
    mkdir -p "$WORK_DIR/seed-$name"
    printf 'instance-id: bench-%s\nlocal-hostname: %s\n' "$name" "$name" >"$WORK_DIR/seed-$name/meta-data"
    printf '#cloud-config\nhostname: %s\n' "$name" >"$WORK_DIR/seed-$name/user-data"
    seed_iso=$WORK_DIR/seed-$name.iso
    genisoimage -quiet -output "$seed_iso" -volid cidata -joliet -rock \
      "$WORK_DIR/seed-$name/user-data" "$WORK_DIR/seed-$name/meta-data"
    virsh_ vol-create-as "$POOL" "$name-seed.iso" "$(stat -c %s "$seed_iso")" --format raw >/dev/null
    virsh_ vol-upload "$name-seed.iso" "$seed_iso" --pool "$POOL"
    seed_disk="<disk type='volume' device='disk'>
      <driver name='qemu' type='raw'/>
      <source pool='$POOL' volume='$name-seed.iso'/>
      <target dev='vdb' bus='virtio'/>
      <readonly/>
    </disk>"
  fi
  # No <mac>: libvirt picks a fresh one, so no stale lease from an earlier
  # run can make the address appear before the guest asked for it.
  cat >"$WORK_DIR/$name.xml" <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>$MEMORY_MIB</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <devices>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source pool='$POOL' volume='$name-root.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    $seed_disk
    <interface type='network'>
      <source network='$net'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'/>
    <console type='pty'/>
  </devices>
</domain>
EOF
  virsh_ define "$WORK_DIR/$name.xml" >/dev/null
  virsh_ start "$name" >/dev/null
  t1=$(now_us)
  mac=$(virsh_ domiflist "$name" | awk '{ print $5; exit }')
  [[ -n $mac ]] || die "$name: no MAC address in its definition"
  ip=""
  while [[ -z $ip ]]; do
    (($(remaining_us "$t0") > 0)) || die "$name: no DHCP lease on $net within $TIMEOUT_S s"
    ip=$(leased_ip "$net" "$mac" || true)
    [[ -n $ip ]] || sleep "$POLL_S"
  done
  t2=$(now_us)
  check_address "$ip" "$prefix"
  wait_http "$t0" "$ip" "$([[ $SEED -eq 1 ]] && echo "$name" || echo tiny)"
  t3=$(now_us)
  echo "$((t3 - t0)) $((t1 - t0)) $((t2 - t1))"
}

run_variant() {
  local variant=$1 run=$2 name result total boot addr others
  name=$VM_PREFIX-${variant#virsh-}-$run
  CURRENT_VM=$name
  remove_vm "$name"   # a leftover from an interrupted earlier run
  # Guests that others run on this host take CPU from ours under TCG: noted
  # with each run so a noisy run can be told from a slow tool.
  others=$(other_vms)
  case $variant in
    vmctl) result=$(run_vmctl "$name") ;;
    virsh-default) result=$(run_virsh "$name" "$DEFAULT_NET" "$DEFAULT_PREFIX") ;;
    virsh-tuned) result=$(run_virsh "$name" "$TUNED_NET" "$TUNED_PREFIX") ;;
  esac
  read -r total boot addr <<<"$result"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$variant" "$run" "$total" "$boot" "$addr" "$others" >>"$WORK_DIR/times.tsv"
  log "  run $run $(printf '%-13s' "$variant") $(printf '%6s' "$(secs "$total")") s  (running after $(secs "$boot") s, address after +$(secs "$addr") s; other VMs running: $others)"
  if [[ $variant == vmctl ]]; then
    printf '%s\t%s\n' "$run" "$(cat "$WORK_DIR/rss-$name")" >>"$WORK_DIR/rss.tsv"
    "$VMCTL" delete "$name" >/dev/null
  fi
  remove_vm "$name"
  CURRENT_VM=""
}

# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

cd "$REPO_DIR"
virsh_ version >/dev/null 2>&1 || die "libvirtd does not answer; run scripts/bootstrap-host.sh"
command -v genisoimage >/dev/null || die "genisoimage is missing (scripts/bootstrap-host.sh installs it)"
log "building the release binary"
# Quiet when it works; its output explains a failure (often: sources edited
# during the build).
if ! build_log=$(swift build -c release 2>&1); then
  printf '%s\n' "$build_log" >&2
  die "swift build -c release failed"
fi
virsh_ vol-info "$IMAGE_VOL" --pool "$POOL" >/dev/null 2>&1 ||
  die "image volume $IMAGE_VOL is not in pool $POOL (create a tiny VM with vmctl once)"
virsh_ net-info "$TUNED_NET" >/dev/null 2>&1 || die "network $TUNED_NET does not exist (vmctl creates it)"

# A network with libvirt's defaults: no stp/delay attributes (libvirt fills
# in stp='on' delay='0'), no dnsmasq options (so dnsmasq pings before
# offering).  A fixed bridge name only so it cannot take virbr0 from libvirt's
# own "default" network.
if virsh_ net-info "$DEFAULT_NET" >/dev/null 2>&1; then
  virsh_ net-destroy "$DEFAULT_NET" >/dev/null 2>&1 || true
  virsh_ net-undefine "$DEFAULT_NET" >/dev/null
fi
cat >"$WORK_DIR/$DEFAULT_NET.xml" <<EOF
<network>
  <name>$DEFAULT_NET</name>
  <forward mode='nat'/>
  <bridge name='$DEFAULT_BRIDGE'/>
  <ip address='${DEFAULT_PREFIX}1' netmask='255.255.255.0'>
    <dhcp><range start='${DEFAULT_PREFIX}2' end='${DEFAULT_PREFIX}254'/></dhcp>
  </ip>
</network>
EOF
NETWORK_CREATED=1
virsh_ net-define "$WORK_DIR/$DEFAULT_NET.xml" >/dev/null
virsh_ net-start "$DEFAULT_NET" >/dev/null
log "network $DEFAULT_NET: $(virsh_ net-dumpxml "$DEFAULT_NET" | grep -o "<bridge[^>]*>")"

log "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), other running VMs: $(other_vms)"
log "seed for the virsh variants: $([[ $SEED -eq 1 ]] && echo yes || echo 'no (--no-seed)')"
log "$RUNS run(s) per variant"

: >"$WORK_DIR/times.tsv"
: >"$WORK_DIR/rss.tsv"
for ((run = 1; run <= RUNS; run++)); do
  # Odd runs in listed order, even runs reversed.
  if ((run % 2 == 1)); then order=("${VARIANTS[@]}"); else order=(virsh-tuned virsh-default vmctl); fi
  for variant in "${order[@]}"; do run_variant "$variant" "$run"; done
done

mkdir -p "$RESULTS_DIR"
# --no-seed results go to their own file so they never pass for the default.
out_json=$RESULTS_DIR/create-to-http.json
[[ $SEED -eq 1 ]] || out_json=$RESULTS_DIR/create-to-http-no-seed.json
python3 - "$WORK_DIR/times.tsv" "$WORK_DIR/rss.tsv" "$out_json" "$SEED" <<'EOF'
import json, statistics, sys
times_path, rss_path, out_path, seed = sys.argv[1:5]
runs = {}
for line in open(times_path):
    variant, run, total, boot, addr, others = line.split("\t")
    runs.setdefault(variant, []).append({"run": int(run), "total_s": int(total) / 1e6,
                                         "running_s": int(boot) / 1e6, "address_s": int(addr) / 1e6,
                                         "other_vms_running": int(others)})
rss_kib = [int(line.split("\t")[1]) for line in open(rss_path) if line.strip()]
summary = {}
print()
print(f"{'variant':<14} {'runs':>4} {'mean s':>8} {'min s':>8} {'max s':>8}")
for variant in ("vmctl", "virsh-default", "virsh-tuned"):
    totals = [r["total_s"] for r in runs.get(variant, [])]
    if not totals:
        continue
    summary[variant] = {"mean_s": statistics.mean(totals), "min_s": min(totals), "max_s": max(totals),
                        "runs": runs[variant]}
    print(f"{variant:<14} {len(totals):>4} {statistics.mean(totals):>8.2f} {min(totals):>8.2f} {max(totals):>8.2f}")
ratios = {}
for stat in ("mean", "min"):
    vm, d, t = (summary[v][f"{stat}_s"] for v in ("vmctl", "virsh-default", "virsh-tuned"))
    ratios[stat] = {"virsh_default_over_vmctl": d / vm, "vmctl_over_virsh_tuned": vm / t}
print()
print(f"{'':<22} {'of means':>9} {'of mins':>9}")
print(f"{'virsh-default / vmctl':<22} {ratios['mean']['virsh_default_over_vmctl']:>8.2f}x "
      f"{ratios['min']['virsh_default_over_vmctl']:>8.2f}x   (target >= 2.5)")
print(f"{'vmctl / virsh-tuned':<22} {ratios['mean']['vmctl_over_virsh_tuned']:>9.2f} "
      f"{ratios['min']['vmctl_over_virsh_tuned']:>9.2f}    (target <= 1.05)")
# Other guests booting or running under TCG on a 2-core host add seconds.
noisy = sum(r["other_vms_running"] > 0 for v in runs.values() for r in v)
if noisy:
    print(f"note: {noisy} run(s) shared the host with other running VMs; the minimums are the steadier figure")
peak_mib = max(rss_kib) / 1024 if rss_kib else None
if peak_mib is not None:
    print(f"peak RSS of 'vmctl create --start': {peak_mib:.1f} MiB (max over {len(rss_kib)} runs)")
json.dump({"seed_for_virsh_variants": seed == "1", "variants": summary, "ratios": ratios,
           "vmctl_create_peak_rss_mib": peak_mib}, open(out_path, "w"), indent=2)
print(f"results: {out_path}")
EOF

#!/usr/bin/env bash
# bench/fleet.sh [--skip-boot] [--skip-plan]
#
# 1. Eight tiny VMs, all answering HTTP on port 80:
#      vmctl   `vmctl apply` of a lab of 8 members (ready: http:80/), --parallel 4;
#      virsh   the seeds' way: a sequential script of virsh calls (overlay volume, define, start, poll
#              net-dhcp-leases, curl until it answers) on a network with libvirt's defaults, one VM after
#              the other.
#      ideal   the same 8 domains, defined beforehand, started all at once on a network with STP off
#              and dnsmasq no-ping, polled in parallel: what the machine can do with no management at all.
#    Prints the three times, the ratios, and how many of the 8 answered each way.
# 2. `vmctl plan` on a lab of 50 domains with nothing to change (the members are defined, not booted:
#    `state: stopped`), three times: wall time and the libvirt calls it made (`plan --stats`).
#
# Everything it makes is named fl-bench* and removed at the end (trap). It asserts nothing about times.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VMCTL=${VMCTL:-$REPO_DIR/.build/release/vmctl}
[[ -x $VMCTL ]] || VMCTL=$REPO_DIR/.build/debug/vmctl
HOSTNS=$REPO_DIR/scripts/hostns
URI=qemu:///system
WORK=$(mktemp -d /tmp/vmctl-bench-fleet.XXXXXX)
BOOT=1
PLAN=1
for arg in "$@"; do
  case $arg in
    --skip-boot) BOOT=0 ;;
    --skip-plan) PLAN=0 ;;
    *) echo "usage: $0 [--skip-boot] [--skip-plan]" >&2; exit 64 ;;
  esac
done

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
virsh_() { virsh -q -c "$URI" "$@"; }

lab() {  # lab NAME COUNT STATE SUBNET
  mkdir -p "$WORK/$1"
  cat >"$WORK/$1/lab.yaml" <<EOF
version: 1
kind: Lab
name: $1
spec: {include: [fleet.yaml]}
EOF
  cat >"$WORK/$1/fleet.yaml" <<EOF
version: 1
kind: Network
name: $1
spec: {subnet: $4.0/24, dhcp: $4.10-$4.250}
---
version: 1
kind: Domain
name: $1
spec:
  count: $2
  memory: 256M
  state: $3
  networks: [$1]
  ready: "http:80/"
EOF
}

cleanup() {
  for l in fl-bench fl-bench50; do [[ -f $WORK/$l/lab.yaml ]] && "$VMCTL" destroy "$WORK/$l/lab.yaml" >/dev/null 2>&1 || true; done
  for i in $(seq 1 8); do
    virsh_ destroy "fl-bench-virsh-$i" >/dev/null 2>&1 || true
    virsh_ undefine "fl-bench-virsh-$i" >/dev/null 2>&1 || true
    virsh_ vol-delete --pool vmctl "fl-bench-virsh-$i.qcow2" >/dev/null 2>&1 || true
  done
  for i in $(seq 1 8); do
    virsh_ destroy "fl-bench-ideal-$i" >/dev/null 2>&1 || true
    virsh_ undefine "fl-bench-ideal-$i" >/dev/null 2>&1 || true
    virsh_ vol-delete --pool vmctl "fl-bench-ideal-$i.qcow2" >/dev/null 2>&1 || true
  done
  for net in fl-bench-def fl-bench-ideal; do
    virsh_ net-destroy "$net" >/dev/null 2>&1 || true
    virsh_ net-undefine "$net" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

if (( BOOT )); then
  # --- vmctl apply --------------------------------------------------------
  lab fl-bench 8 running 10.116.0
  start=$(now)
  "$VMCTL" apply "$WORK/fl-bench/lab.yaml" --parallel 4 >/dev/null 2>"$WORK/apply.err" || true
  end=$(now)
  vmctl_s=$(elapsed "$start" "$end")
  vmctl_ok=$("$VMCTL" status "$WORK/fl-bench/lab.yaml" --json | grep -c '"ready" : true' || true)
  "$VMCTL" destroy "$WORK/fl-bench/lab.yaml" >/dev/null 2>&1

  # --- sequential virsh on libvirt's defaults ------------------------------
  cat >"$WORK/net.xml" <<EOF
<network><name>fl-bench-def</name><forward mode='nat'/><bridge name='vm-flbdef'/>
  <ip address='10.117.0.1' netmask='255.255.255.0'><dhcp><range start='10.117.0.10' end='10.117.0.250'/></dhcp></ip></network>
EOF
  virsh_ net-define "$WORK/net.xml" >/dev/null
  virsh_ net-start fl-bench-def >/dev/null
  virsh_ok=0
  start=$(now)
  for i in $(seq 1 8); do
    name=fl-bench-virsh-$i
    mac=$(printf '52:54:00:b1:%02x:%02x' $((RANDOM % 256)) "$i")
    virsh_ vol-create-as vmctl "$name.qcow2" 2G --format qcow2 --backing-vol image-tiny.qcow2 --backing-vol-format qcow2 >/dev/null
    cat >"$WORK/$name.xml" <<EOF
<domain type='qemu'><name>$name</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='vmctl' volume='$name.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><source network='fl-bench-def'/><mac address='$mac'/><model type='virtio'/></interface>
    <serial type='pty'/><console type='pty'/>
  </devices></domain>
EOF
    virsh_ define "$WORK/$name.xml" >/dev/null
    virsh_ start "$name" >/dev/null
    deadline=$(( $(date +%s) + 120 ))
    ip=""
    while (( $(date +%s) < deadline )); do
      ip=$(virsh_ net-dhcp-leases fl-bench-def --mac "$mac" 2>/dev/null | awk '{print $5}' | cut -d/ -f1 | head -1)
      if [[ -n $ip ]] && "$HOSTNS" curl -s -m 2 -o /dev/null "http://$ip/"; then virsh_ok=$((virsh_ok + 1)); break; fi
      sleep 0.1
    done
  done
  end=$(now)
  virsh_s=$(elapsed "$start" "$end")
  for i in $(seq 1 8); do
    virsh_ destroy "fl-bench-virsh-$i" >/dev/null 2>&1 || true
    virsh_ undefine "fl-bench-virsh-$i" >/dev/null
    virsh_ vol-delete --pool vmctl "fl-bench-virsh-$i.qcow2" >/dev/null
  done

  # --- the machine's ideal: the same 8 domains started all at once on a tuned network ------
  # No management at all: overlays and definitions are made before the clock starts, the network has
  # STP off and dnsmasq no-ping, every domain is started at once and polled in parallel.
  cat >"$WORK/ideal.xml" <<XML
<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'><name>fl-bench-ideal</name><forward mode='nat'/>
  <bridge name='vm-flbideal' stp='off'/>
  <ip address='10.119.0.1' netmask='255.255.255.0'><dhcp><range start='10.119.0.10' end='10.119.0.250'/></dhcp></ip>
  <dnsmasq:options><dnsmasq:option value='no-ping'/></dnsmasq:options></network>
XML
  virsh_ net-define "$WORK/ideal.xml" >/dev/null
  virsh_ net-start fl-bench-ideal >/dev/null
  for i in $(seq 1 8); do
    name=fl-bench-ideal-$i
    virsh_ vol-create-as vmctl "$name.qcow2" 2G --format qcow2 --backing-vol image-tiny.qcow2 --backing-vol-format qcow2 >/dev/null
    sed -e "s/fl-bench-virsh-$i/$name/g" -e "s/fl-bench-def/fl-bench-ideal/" "$WORK/fl-bench-virsh-$i.xml" >"$WORK/$name.xml"
    virsh_ define "$WORK/$name.xml" >/dev/null
  done
  start=$(now)
  for i in $(seq 1 8); do virsh_ start "fl-bench-ideal-$i" >/dev/null & done
  wait
  for i in $(seq 1 8); do
    (
      mac=$(grep -o "52:54:00:b1:[0-9a-f:]*" "$WORK/fl-bench-ideal-$i.xml")
      deadline=$(( $(date +%s) + 180 ))
      while (( $(date +%s) < deadline )); do
        ip=$(virsh_ net-dhcp-leases fl-bench-ideal --mac "$mac" 2>/dev/null | awk '{print $5}' | cut -d/ -f1 | head -1)
        if [[ -n $ip ]] && "$HOSTNS" curl -s -m 2 -o /dev/null "http://$ip/"; then touch "$WORK/ideal-ok-$i"; break; fi
        sleep 0.1
      done
    ) &
  done
  wait
  ideal_s=$(elapsed "$start" "$(now)")
  ideal_ok=$(find "$WORK" -name 'ideal-ok-*' | wc -l)

  echo "8 VMs answering HTTP:"
  echo "  vmctl apply (--parallel 4):         ${vmctl_s} s, ${vmctl_ok}/8 ready"
  echo "  sequential virsh, libvirt defaults: ${virsh_s} s, ${virsh_ok}/8 answered"
  echo "  ideal (8 virsh starts at once, tuned network, nothing else): ${ideal_s} s, ${ideal_ok}/8 answered"
  awk -v a="$virsh_s" -v b="$vmctl_s" 'BEGIN { printf "  ratio virsh/vmctl: %.1fx (target >= 4x)\n", a / b }'
  awk -v a="$ideal_s" -v b="$vmctl_s" 'BEGIN { printf "  ratio vmctl/ideal: %.2fx (target <= 1.5x)\n", b / a }'
fi

if (( PLAN )); then
  lab fl-bench50 50 stopped 10.118.0
  start=$(now)
  "$VMCTL" apply "$WORK/fl-bench50/lab.yaml" --parallel 8 >/dev/null 2>"$WORK/apply50.err"
  echo "50 stopped members defined by apply in $(elapsed "$start" "$(now)") s"
  for run in 1 2 3; do
    start=$(now)
    set +e
    "$VMCTL" plan --stats "$WORK/fl-bench50/lab.yaml" >"$WORK/plan.out" 2>"$WORK/plan.err"
    status=$?
    set -e
    echo "plan of 50 unchanged domains, run $run: $(elapsed "$start" "$(now)") s wall, exit $status; $(grep -o 'read with.*' "$WORK/plan.err")"
  done
  tail -1 "$WORK/plan.out"
fi

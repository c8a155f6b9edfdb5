#!/usr/bin/env bash
# The main job on vmctl's embedded default: a tiny VM created, booted, answering HTTP and SSH.
# Run through `make demo`, which has bootstrapped the host and built the tiny image first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
vmctl=.build/debug/vmctl
name=demo

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step vmctl doctor
"$vmctl" doctor || true

# A demo left from an earlier run is replaced, so the demo always shows a fresh boot.
if virsh -q -c qemu:///system dominfo "$name" >/dev/null 2>&1; then "$vmctl" delete "$name"; fi

step vmctl create "$name" --start
start_ms=$(( $(date +%s%N) / 1000000 ))
"$vmctl" create "$name" --start

step vmctl ip "$name" --wait 60
address=$("$vmctl" ip "$name" --wait 60)
echo "$address"
echo "(the guest answered $(( $(date +%s%N) / 1000000 - start_ms )) ms after create)"

# As in VirtualBox NAT, host processes do not reach the guest's private address: forward a port.
step vmctl forward add "$name" --host-port 8080 --guest-port 80 --host-ip 127.0.0.1
"$vmctl" forward add "$name" --host-port 8080 --guest-port 80 --host-ip 127.0.0.1

step curl http://127.0.0.1:8080/   "(on the host: scripts/hostns runs it where libvirtd's networks are)"
scripts/hostns curl -s -m 5 http://127.0.0.1:8080/

step vmctl ssh "$name" -- 'hostname; uname -r; df -h /data'
"$vmctl" ssh "$name" -- 'hostname; uname -r; df -h /data'

step vmctl list
"$vmctl" list

# The backquotes are literal: they mark the commands in the message.
# shellcheck disable=SC2016
printf '\nThe VM keeps running: try `%s console %s`, `%s ssh %s`, then `%s delete %s`.\n' \
  "$vmctl" "$name" "$vmctl" "$name" "$vmctl" "$name"

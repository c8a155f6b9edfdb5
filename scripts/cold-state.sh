#!/usr/bin/env bash
# cold-state.sh — put this machine back to what a fresh one has, apart from Debian's packages, so the
# README's commands that follow prove a first run: vmctl's VMs, networks, pool and image, its package
# cache, its SSH key and known hosts, its installed binary, hook and watcher, the libvirtd the bootstrap
# started and its namespaces. CI (.ci/run) calls it before `make test`.
#
# Only vmctl's own objects are removed: domains and networks that carry vmctl's metadata namespace,
# vmctl's control network and its storage pool. Anything else defined in libvirt is left alone.
set -euo pipefail

readonly URI=qemu:///system
readonly NS_URI=https://vmctl.dev/xmlns/1
readonly POOL=vmctl

[[ $(id -u) -eq 0 ]] || { echo "cold-state: must run as root" >&2; exit 1; }
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { printf 'cold-state: %s\n' "$*"; }
virsh_q() { timeout 60 virsh -q -c "$URI" "$@"; }

# The watcher would put a table back and the hook would run a binary that is about to go.
if [[ -f /run/vmctl/firewall-watch.pid ]]; then
  pid=$(</run/vmctl/firewall-watch.pid)
  if [[ $pid =~ ^[0-9]+$ ]] && [[ $(readlink "/proc/$pid/exe" 2>/dev/null || true) == *vmctl* ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    say "stopped the firewall watcher (pid $pid)"
  fi
fi

# A daemon that is down still holds vmctl's definitions on disk, and its pool names a directory removed
# below: start it (as the README's commands would) so they go through the API.
if command -v virsh >/dev/null && ! timeout 10 virsh -c "$URI" version >/dev/null 2>&1; then
  bash scripts/bootstrap-host.sh --quiet
  say "started libvirtd to remove vmctl's objects from it"
fi
if command -v virsh >/dev/null && timeout 10 virsh -c "$URI" version >/dev/null 2>&1; then
  for dom in $(virsh_q list --all --name); do
    virsh_q dumpxml "$dom" 2>/dev/null | grep -qF "$NS_URI" || continue
    virsh_q destroy "$dom" >/dev/null 2>&1 || true
    virsh_q undefine "$dom" --snapshots-metadata --nvram >/dev/null 2>&1 ||
      virsh_q undefine "$dom" --snapshots-metadata >/dev/null
    say "removed domain $dom"
  done
  for net in $(virsh_q net-list --all --name); do
    [[ $net == vmctl-control ]] || virsh_q net-dumpxml "$net" 2>/dev/null | grep -qF "$NS_URI" || continue
    virsh_q net-destroy "$net" >/dev/null 2>&1 || true
    virsh_q net-undefine "$net" >/dev/null
    say "removed network $net"
  done
  if virsh_q pool-info "$POOL" >/dev/null 2>&1; then
    virsh_q pool-start "$POOL" >/dev/null 2>&1 || true
    for vol in $(virsh_q vol-list "$POOL" 2>/dev/null | awk '{print $1}'); do
      virsh_q vol-delete "$vol" --pool "$POOL" >/dev/null
    done
    virsh_q pool-destroy "$POOL" >/dev/null 2>&1 || true
    virsh_q pool-undefine "$POOL" >/dev/null
    say "removed storage pool $POOL and its volumes"
  fi
fi

bash scripts/bootstrap-host.sh --quiet --teardown
rm -rf /var/lib/vmctl /var/cache/vmctl /run/vmctl /usr/local/lib/vmctl
rm -f /usr/local/bin/vmctl /etc/libvirt/hooks/network
getent group vmctl >/dev/null && groupdel vmctl
say "removed vmctl's state, package cache, installed binary and libvirt hook"

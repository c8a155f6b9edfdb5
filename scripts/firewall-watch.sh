#!/usr/bin/env bash
# firewall-watch.sh — keep `vmctl net reconcile --watch` running where no service manager does it.
#
# vmctl's rules live in its own nftables table. The libvirt network hook re-applies them when a
# network starts; this watcher puts them back when someone else flushes or deletes the table.
# Idempotent: a running watcher is left alone. Needs /usr/local/bin/vmctl (make build links it).
set -euo pipefail

readonly VMCTL=/usr/local/bin/vmctl
readonly PIDFILE=/run/vmctl/firewall-watch.pid
readonly LOG=/var/log/vmctl-firewall-watch.log

[[ -x $VMCTL ]] || { echo "firewall-watch: $VMCTL is missing (run make build)" >&2; exit 1; }
mkdir -p "$(dirname "$PIDFILE")"
if [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  exit 0
fi
# setsid: the watcher outlives the shell (and make) that started it.
setsid "$VMCTL" net reconcile --watch 2 --quiet </dev/null >>"$LOG" 2>&1 &
echo $! >"$PIDFILE"
echo "firewall-watch: started (pid $!, log $LOG)"

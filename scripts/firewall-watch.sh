#!/usr/bin/env bash
# firewall-watch.sh — keep `vmctl net reconcile --watch` running where no service manager does it.
#
# vmctl's rules live in its own nftables table. The libvirt network hook re-applies them when a
# network starts; this watcher puts them back when someone else flushes or deletes the table.
# Idempotent: a watcher running the installed binary is left alone; one running an older copy (the file it
# started from was replaced by make build) is stopped and started again on the new one.
# Needs /usr/local/bin/vmctl (make build installs it).
set -euo pipefail

readonly VMCTL=/usr/local/bin/vmctl
readonly PIDFILE=/run/vmctl/firewall-watch.pid
readonly LOG=/var/log/vmctl-firewall-watch.log

[[ -x $VMCTL ]] || { echo "firewall-watch: $VMCTL is missing (run make build)" >&2; exit 1; }
mkdir -p "$(dirname "$PIDFILE")"
if [[ -f $PIDFILE ]]; then
  pid=$(<"$PIDFILE")
  if [[ $pid =~ ^[0-9]+$ ]] && exe=$(readlink "/proc/$pid/exe" 2>/dev/null); then
    # Only a vmctl is ours to stop: the pid may have been reused by an unrelated process.
    if [[ $exe == "$(readlink -f "$VMCTL")" ]]; then
      exit 0
    elif [[ $(basename "${exe% (deleted)}") == vmctl ]]; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
fi
# setsid: the watcher outlives the shell (and make) that started it. It keeps no descriptor of its
# starter's beyond stdio: an inherited one (a lock taken with flock around `make build`) would be held
# for the watcher's whole life.
(
  for fd in /proc/self/fd/*; do
    fd=${fd##*/}
    if [[ $fd -gt 2 ]]; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
  exec setsid "$VMCTL" net reconcile --watch 2 --quiet </dev/null >>"$LOG" 2>&1
) &
echo $! >"$PIDFILE"
echo "firewall-watch: started (pid $!, log $LOG)"

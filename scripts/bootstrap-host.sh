#!/usr/bin/env bash
# bootstrap-host.sh — prepare a Debian 12 host so vmctl's tests and demos can
# talk to a libvirtd (qemu:///system).
#
# Usage: scripts/bootstrap-host.sh [--quiet] [--teardown]
#
# It is idempotent: every step checks first and only acts when something is
# missing, so a second run changes nothing and finishes in well under 2 s.
#
# Two modes:
#   * systemd is PID 1 and manages libvirtd/virtqemud: use that daemon as is.
#   * otherwise (containers, CI sandboxes, this dev VM): run our own libvirtd
#     INSIDE a network namespace "vmctl-host", joined by a veth pair to a
#     neighbour namespace "vmctl-outside".  Guests, their bridges, dnsmasq
#     and the NAT rules libvirt writes then all live in that namespace and the
#     only way out is the veth into vmctl-outside, which routes nowhere.  So
#     nothing the tests do can send a packet to a real network.
#
# libvirt's unix sockets live in /run/libvirt (a filesystem, not a network),
# so clients in the root namespace still connect with qemu:///system.
#
# Findings while writing this (Debian 12: libvirt 9.0, QEMU 7.2, no systemd):
#   * The qemu driver works with the stock /etc/libvirt/qemu.conf; no config
#     edits are needed.  `ip netns exec` remounts /sys, which hides the cgroup
#     mounts, so libvirtd simply runs guests without cgroups (no cgroup manager
#     is needed).  The per-domain mount namespace works because we are root
#     with CAP_SYS_ADMIN; the security driver is DAC only (no AppArmor/SELinux).
#   * NAT networks with a bridge start fine inside the namespace: the bridge,
#     dnsmasq and libvirt's iptables(-nft) rules all land in vmctl-host.
#   * libvirtd logs harmless errors about D-Bus (none without systemd) and
#     dmidecode (/dev/mem absent); they do not affect the qemu driver.

set -euo pipefail

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------
readonly HOST_NS=vmctl-host          # where libvirtd runs: "the host" for guests
readonly OUTSIDE_NS=vmctl-outside    # a neighbour host on the other end of the veth
readonly HOST_IF=vmctl-ext0
readonly OUTSIDE_IF=vmctl-peer0
# TEST-NET-2 (RFC 5737, documentation range): can never clash with real hosts.
readonly HOST_ADDR=198.51.100.1
readonly OUTSIDE_ADDR=198.51.100.2
readonly PREFIX=24

readonly URI=qemu:///system
readonly LIBVIRTD_PIDFILE=/run/libvirtd.pid
readonly VIRTLOGD_PIDFILE=/run/virtlogd.pid
# Records which daemons *this script* started, so --teardown stops only those.
# Under /run so it vanishes on reboot together with the daemons themselves.
readonly STATE_DIR=/run/vmctl-bootstrap
# `ip netns exec` bind-mounts /etc/netns/NAME/* over /etc/*.  We give vmctl-host
# its own resolv.conf pointing at the outside namespace, so dnsmasq's upstream
# DNS (and any tool run with scripts/hostns) can only reach our own test host.
readonly NETNS_ETC=/etc/netns/$HOST_NS

# Debian packages the project needs.  iputils-ping is not strictly a vmctl
# dependency, but the bootstrap check and the test scripts use `ping`; the
# unit tests lint the shell scripts and the tiny guest's files with `shellcheck`.
readonly PACKAGES=(
  libvirt-daemon-system libvirt-clients libvirt-dev
  qemu-system-x86 qemu-utils
  dnsmasq-base dnsmasq-utils nftables iptables
  openssh-client iproute2 iputils-ping curl ca-certificates pkg-config
  busybox-static syslinux syslinux-common mtools dosfstools
  dropbear-bin genisoimage cpio util-linux kmod
  hyperfine socat
  shellcheck
)

# A clean, fixed environment for the daemons we launch, so the caller's
# environment (LIBVIRT_*, XDG_*, locale, …) cannot leak into them.
readonly DAEMON_ENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)

QUIET=0
CHANGED=0   # set to 1 by any step that had to change something

# ---------------------------------------------------------------------------
# Output helpers
# ---------------------------------------------------------------------------
info() { [[ $QUIET -eq 1 ]] || printf '%s\n' "$*"; }
# A step that changed the host: always counted, printed unless --quiet.
did() { CHANGED=1; info "  + $*"; }
warn() { printf 'bootstrap-host: warning: %s\n' "$*" >&2; }
die() { printf 'bootstrap-host: error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<EOF
Usage: $0 [--quiet] [--teardown]

  (no option)  install packages, create the $HOST_NS/$OUTSIDE_NS namespaces,
               start virtlogd and libvirtd (inside $HOST_NS); idempotent.
  --teardown   stop the libvirtd/virtlogd this script started and delete the
               namespaces (idempotent as well).
  --quiet      print only warnings and errors.
EOF
}

# ---------------------------------------------------------------------------
# Process helpers
# ---------------------------------------------------------------------------

# True if PID exists and is not a zombie.  Without a reaping init, a killed
# daemon can linger as a zombie for a while and `kill -0` would still succeed.
pid_alive() {
  local pid=$1 stat
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }          # drop "pid (comm) "; comm may contain spaces
  [[ ${stat%% *} != Z ]]
}

# Print the pid from PIDFILE if that process is alive and is named NAME
# (guards against a stale pidfile whose pid got reused).
pid_from_file() {
  local pidfile=$1 name=$2 pid
  [[ -r $pidfile ]] || return 1
  pid=$(<"$pidfile") || return 1
  pid=${pid//[[:space:]]/}
  pid_alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || return 1
  printf '%s\n' "$pid"
}

# Identity (device:inode) of a network namespace file, e.g. /proc/PID/ns/net
# or /run/netns/NAME.  Equal identities mean the same namespace.
netns_id() { stat -L -c '%d:%i' "$1" 2>/dev/null; }

pid_in_netns() {
  local pid=$1 ns=$2 a b
  a=$(netns_id "/proc/$pid/ns/net") || return 1
  b=$(netns_id "/run/netns/$ns") || return 1
  [[ $a == "$b" ]]
}

# SIGTERM a pid and wait (bounded) for it to exit; SIGKILL as a last resort.
stop_pid() {
  local pid=$1 what=$2 i
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do      # up to 15 s: libvirtd saves state on exit
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  warn "$what (pid $pid) ignored SIGTERM for 15 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  die "could not stop $what (pid $pid)"
}

virsh_q() { timeout 10 virsh -q -c "$URI" "$@"; }

# Poll (bounded) until libvirtd answers on its socket.
wait_for_libvirt() {
  local i
  for ((i = 0; i < 300; i++)); do      # up to ~30 s on a slow, cold CI host
    if timeout 5 virsh -c "$URI" version >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------------------
# Step a: packages
# ---------------------------------------------------------------------------
ensure_packages() {
  local -A installed=()
  local name status missing=() pkg
  # One dpkg-query for all packages keeps the no-op run fast.  Unknown
  # packages make it exit non-zero, which just means "missing".
  while read -r name status; do
    [[ $status == "install ok installed" ]] && installed[$name]=1
  done < <(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)

  for pkg in "${PACKAGES[@]}"; do
    [[ -n ${installed[$pkg]:-} ]] || missing+=("$pkg")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    info "packages: all ${#PACKAGES[@]} installed"
    return 0
  fi

  info "packages: installing ${missing[*]}"
  # Without systemd, the packages' sysv init scripts would start libvirtd in
  # the ROOT network namespace during the install (and maybe autostart the
  # default network there).  A temporary policy-rc.d (exit 101 = "action
  # forbidden") stops invoke-rc.d from starting any service; we start the
  # daemons ourselves, in the right namespace.  Keep an existing one (Docker
  # images ship their own).
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, from vmctl scripts/bootstrap-host.sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    made_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi

  local apt_out=/dev/stdout
  [[ $QUIET -eq 1 ]] && apt_out=/dev/null
  # --force-confnew: take the packaged config files without prompting; with a
  # prompt (or with --force-confold on a half-configured host)
  # libvirt-daemon-system's postinst may not finish and then no libvirt-qemu
  # user is created.
  DEBIAN_FRONTEND=noninteractive apt-get update -q >"$apt_out"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    -o Dpkg::Options::=--force-confnew "${missing[@]}" >"$apt_out"

  if [[ $made_policy -eq 1 ]]; then
    rm -f "$policy"
    trap - EXIT
  fi
  did "installed ${missing[*]}"

  getent passwd libvirt-qemu >/dev/null ||
    warn "user libvirt-qemu does not exist; libvirt-daemon-system did not configure fully"
}

# ---------------------------------------------------------------------------
# Step b: a systemd-managed libvirt daemon, if there is one
# ---------------------------------------------------------------------------

# On success prints the unit name (virtqemud or libvirtd) to use.
systemd_libvirt_unit() {
  [[ $(cat /proc/1/comm 2>/dev/null) == systemd ]] || return 1
  command -v systemctl >/dev/null || return 1
  local unit
  # Prefer the modular daemon when it is in use.  A unit counts when it (or
  # its socket, for socket activation) is active or enabled.
  for unit in virtqemud libvirtd; do
    if systemctl is-active --quiet "$unit.service" "$unit.socket" 2>/dev/null ||
      systemctl is-enabled --quiet "$unit.service" 2>/dev/null; then
      printf '%s\n' "$unit"
      return 0
    fi
  done
  return 1
}

use_systemd_daemon() {
  local unit=$1
  if ! systemctl is-active --quiet "$unit.service"; then
    systemctl start "$unit.service"
    did "started $unit.service"
  fi
  wait_for_libvirt || die "$unit.service is running but $URI does not answer"
  info "libvirt: using systemd's $unit.service (pid $(systemctl show -p MainPID --value "$unit.service")); no namespaces needed"
}

# ---------------------------------------------------------------------------
# Step c: network namespaces and the veth between them
# ---------------------------------------------------------------------------

ns_exists() { [[ -e /run/netns/$1 ]] && ip -n "$1" link show lo >/dev/null 2>&1; }

ensure_ns() {
  local ns=$1
  if ! ns_exists "$ns"; then
    # A leftover file without a mounted namespace would make `ip netns add`
    # fail; remove it first.
    if [[ -e /run/netns/$ns ]]; then ip netns delete "$ns" 2>/dev/null || true; fi
    ip netns add "$ns"
    did "created network namespace $ns"
  fi
}

# ip -n NS link show DEV reports the interface as administratively up.
# Output is captured before matching: under pipefail, `ip … | grep -q` fails whenever grep stops reading
# early and ip gets SIGPIPE.
link_is_up() {
  local state
  state=$(ip -n "$1" -o link show dev "$2" 2>/dev/null) || return 1
  [[ $state =~ [\<,]UP[,\>] ]]
}

ensure_link_up() {
  link_is_up "$1" "$2" && return 0
  ip -n "$1" link set dev "$2" up
  did "$1: $2 up"
}

ensure_addr() {
  local ns=$1 dev=$2 cidr=$3
  local current
  current=$(ip -n "$ns" -4 -o addr show dev "$dev")
  # Captured first (see link_is_up): floating IPs make this list long enough for grep -q to cut it short.
  [[ $current == *" $cidr "* ]] && return 0
  ip -n "$ns" addr add "$cidr" dev "$dev"
  did "$ns: $cidr on $dev"
}

ensure_veth() {
  local have_host=0 have_out=0
  ip -n "$HOST_NS" link show dev "$HOST_IF" >/dev/null 2>&1 && have_host=1
  ip -n "$OUTSIDE_NS" link show dev "$OUTSIDE_IF" >/dev/null 2>&1 && have_out=1
  if [[ $have_host -eq 1 && $have_out -eq 1 ]]; then
    return 0
  fi
  # Half a pair (e.g. someone moved or deleted one end) is useless: start over.
  [[ $have_host -eq 1 ]] && ip -n "$HOST_NS" link delete dev "$HOST_IF"
  [[ $have_out -eq 1 ]] && ip -n "$OUTSIDE_NS" link delete dev "$OUTSIDE_IF"
  # Create both ends directly inside their namespaces so no half-configured
  # interface ever appears in the root namespace.
  ip link add "$HOST_IF" netns "$HOST_NS" type veth peer name "$OUTSIDE_IF" netns "$OUTSIDE_NS"
  did "veth $HOST_IF ($HOST_NS) <-> $OUTSIDE_IF ($OUTSIDE_NS)"
}

ensure_resolv_conf() {
  local want="# vmctl: DNS from $HOST_NS may only go to the outside test namespace
nameserver $OUTSIDE_ADDR"
  if [[ -f $NETNS_ETC/resolv.conf && $(<"$NETNS_ETC/resolv.conf") == "$want" ]]; then
    return 0
  fi
  mkdir -p "$NETNS_ETC"
  printf '%s\n' "$want" >"$NETNS_ETC/resolv.conf"
  did "$NETNS_ETC/resolv.conf -> nameserver $OUTSIDE_ADDR"
}

ensure_namespaces() {
  ensure_resolv_conf
  ensure_ns "$HOST_NS"
  ensure_ns "$OUTSIDE_NS"
  ensure_link_up "$HOST_NS" lo
  ensure_link_up "$OUTSIDE_NS" lo
  ensure_veth
  ensure_addr "$HOST_NS" "$HOST_IF" "$HOST_ADDR/$PREFIX"
  ensure_addr "$OUTSIDE_NS" "$OUTSIDE_IF" "$OUTSIDE_ADDR/$PREFIX"
  ensure_link_up "$HOST_NS" "$HOST_IF"
  ensure_link_up "$OUTSIDE_NS" "$OUTSIDE_IF"

  # Default route of "the host" points at the neighbour, so NAT'd guest
  # traffic ends up in vmctl-outside (which has no default route and does not
  # forward) and nowhere else.
  if [[ $(ip -n "$HOST_NS" route show default) != "default via $OUTSIDE_ADDR dev $HOST_IF"* ]]; then
    ip -n "$HOST_NS" route replace default via "$OUTSIDE_ADDR" dev "$HOST_IF"
    did "$HOST_NS: default route via $OUTSIDE_ADDR"
  fi

  # Forwarding only inside vmctl-host (sysctls under net/ are per namespace);
  # the root namespace's setting is left alone.
  if [[ $(ip netns exec "$HOST_NS" cat /proc/sys/net/ipv4/ip_forward) != 1 ]]; then
    ip netns exec "$HOST_NS" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
    did "$HOST_NS: net.ipv4.ip_forward=1"
  fi

  # One ping across the veth proves the pair works (TEST-NET-2, stays local).
  ip netns exec "$HOST_NS" ping -q -c1 -W2 "$OUTSIDE_ADDR" >/dev/null ||
    die "$HOST_NS cannot ping $OUTSIDE_ADDR over $HOST_IF"
  info "namespaces: $HOST_NS ($HOST_IF $HOST_ADDR/$PREFIX) <-> $OUTSIDE_NS ($OUTSIDE_IF $OUTSIDE_ADDR/$PREFIX), ping ok"
}

# ---------------------------------------------------------------------------
# Step d: virtlogd and libvirtd (inside vmctl-host)
# ---------------------------------------------------------------------------

ensure_virtlogd() {
  local pid
  if pid=$(pid_from_file "$VIRTLOGD_PIDFILE" virtlogd); then
    info "virtlogd: running (pid $pid)"
    return 0
  fi
  # virtlogd needs no network, so it runs in the root namespace; libvirtd
  # reaches it through its unix socket in /run/libvirt.
  mkdir -p "$STATE_DIR"
  "${DAEMON_ENV[@]}" virtlogd -d </dev/null >>"$STATE_DIR/virtlogd.log" 2>&1 ||
    die "virtlogd failed to start; see $STATE_DIR/virtlogd.log"
  local i
  for ((i = 0; i < 50; i++)); do
    pid=$(pid_from_file "$VIRTLOGD_PIDFILE" virtlogd) && break
    sleep 0.1
  done
  [[ -n ${pid:-} ]] || die "virtlogd did not write $VIRTLOGD_PIDFILE"
  printf '%s\n' "$pid" >"$STATE_DIR/virtlogd.pid"
  did "started virtlogd (pid $pid)"
}

# All root-owned libvirtd daemons we can see: the pidfile one plus any other
# (e.g. started by hand with a different pidfile).  Users' session daemons
# (non-root) are not ours to touch.
# pgrep also lists zombies (a just-stopped daemon that init has not reaped
# yet), hence the pid_alive filter.
libvirtd_pids() {
  local pid
  for pid in $({
    pid_from_file "$LIBVIRTD_PIDFILE" libvirtd || true
    pgrep -x -u 0 libvirtd || true
  } | sort -u); do
    pid_alive "$pid" && printf '%s\n' "$pid"
  done
  return 0
}

# A libvirtd running outside vmctl-host (a stray one started by hand, or one
# from an earlier namespace that was deleted and recreated): stop it so ours
# can take over the sockets.
stop_stray_libvirtd() {
  local pid=$1 doms="" nets="" net
  if timeout 5 virsh -c "$URI" version >/dev/null 2>&1; then
    doms=$(virsh_q list --name | sed '/^$/d' || true)
    nets=$(virsh_q net-list --name | sed '/^$/d' || true)
  fi
  # Running guests would be orphaned (their taps live in the wrong
  # namespace); killing someone's VMs is not a bootstrap's call.
  [[ -z $doms ]] ||
    die "libvirtd pid $pid runs outside $HOST_NS and still has running domains: ${doms//$'\n'/ }. Shut them down (virsh destroy NAME) and rerun."
  warn "libvirtd pid $pid is not running in $HOST_NS; restarting it there"
  # Its active networks have bridges, dnsmasq and firewall rules in the
  # wrong namespace; destroy them so nothing is left behind there.  Their
  # definitions (and autostart flags) survive and come back in $HOST_NS.
  for net in $nets; do
    virsh_q net-destroy "$net" >/dev/null && did "net-destroy $net (was in the wrong namespace)"
  done
  stop_pid "$pid" libvirtd
  did "stopped stray libvirtd (pid $pid)"
}

ensure_libvirtd() {
  local pid ours=""
  for pid in $(libvirtd_pids); do
    if pid_in_netns "$pid" "$HOST_NS"; then
      ours=$pid
    else
      stop_stray_libvirtd "$pid"
    fi
  done

  if [[ -z $ours ]]; then
    mkdir -p "$STATE_DIR"
    # `ip netns exec` also gives libvirtd a private mount namespace with a
    # /sys that shows vmctl-host's interfaces (libvirt configures bridges via
    # /sys/class/net) and the /etc/netns/vmctl-host/resolv.conf bind mount.
    # libvirtd -d forks into the background and writes /run/libvirtd.pid.
    "${DAEMON_ENV[@]}" ip netns exec "$HOST_NS" libvirtd -d \
      </dev/null >>"$STATE_DIR/libvirtd.log" 2>&1 ||
      die "libvirtd failed to start; see $STATE_DIR/libvirtd.log and /var/log/libvirt/libvirtd.log"
    if ! wait_for_libvirt; then
      die "libvirtd started but $URI does not answer; see /var/log/libvirt/libvirtd.log"
    fi
    ours=$(pid_from_file "$LIBVIRTD_PIDFILE" libvirtd) || die "libvirtd did not write $LIBVIRTD_PIDFILE"
    pid_in_netns "$ours" "$HOST_NS" || die "libvirtd (pid $ours) is not in $HOST_NS"
    printf '%s\n' "$ours" >"$STATE_DIR/libvirtd.pid"
    did "started libvirtd in $HOST_NS (pid $ours)"
  else
    wait_for_libvirt || die "libvirtd (pid $ours) runs in $HOST_NS but $URI does not answer"
    info "libvirtd: running in $HOST_NS (pid $ours)"
  fi
  LIBVIRTD_PID=$ours
}

# ---------------------------------------------------------------------------
# libvirt network hook: vmctl's firewall comes back when a network starts
# ---------------------------------------------------------------------------
readonly HOOK=/etc/libvirt/hooks/network

# vmctl keeps its rules in its own nftables table. When libvirt starts a
# network (autostart after a reboot, net-start after net-destroy), the hook
# asks vmctl to re-apply them. libvirtd waits for its hooks and holds the
# network's lock meanwhile, so a vmctl calling back into libvirt from inside
# the hook would deadlock: the reconcile runs detached, after the hook returns.
hook_text() {
  cat <<'HOOK'
#!/bin/sh
# Installed by vmctl's scripts/bootstrap-host.sh. Arguments: NETWORK OPERATION SUB-OPERATION EXTRA.
case "$2" in
  started|updated|port-created) ;;
  *) exit 0 ;;
esac
[ -x /usr/local/bin/vmctl ] || exit 0
( sleep 0.5; exec /usr/local/bin/vmctl net reconcile --quiet ) </dev/null >>/var/log/vmctl-hook.log 2>&1 &
exit 0
HOOK
}

# NAT networks keep host processes away from guests; vmctl runs with this
# group as its effective group, and its firewall lets that group through.
ensure_management_group() {
  getent group vmctl >/dev/null && return 0
  groupadd --system vmctl
  did "created system group vmctl (vmctl's management channel to guests)"
}

# libvirtd reads its hooks directory only when it starts: install the hook
# first; a running daemon that predates it is restarted once.
ensure_network_hook() {
  if [[ -f $HOOK ]] && cmp -s "$HOOK" <(hook_text); then
    return 0
  fi
  mkdir -p "$(dirname "$HOOK")"
  hook_text >"$HOOK.tmp" && chmod 0755 "$HOOK.tmp" && mv "$HOOK.tmp" "$HOOK"
  did "installed libvirt network hook $HOOK (re-applies vmctl's firewall when a network starts)"
  HOOK_CHANGED=1
}

# After a hook change, a libvirtd that was already running has not seen it.
restart_libvirtd_for_hook() {
  [[ ${HOOK_CHANGED:-0} -eq 1 && -n ${LIBVIRTD_PID:-} && -n ${LIBVIRTD_BEFORE:-} ]] || return 0
  stop_pid "$LIBVIRTD_PID" libvirtd
  did "restarting libvirtd so it sees the new hook"
  ensure_libvirtd
}

# ---------------------------------------------------------------------------
# Step e: summary
# ---------------------------------------------------------------------------
summary() {
  [[ $QUIET -eq 1 ]] && return 0
  cat <<EOF

libvirtd   pid $LIBVIRTD_PID, network namespace $HOST_NS, clients use $URI
           (the socket is in /run/libvirt, reachable from any namespace)
$HOST_NS $HOST_IF $HOST_ADDR/$PREFIX, default route via $OUTSIDE_ADDR, ip_forward=1
$OUTSIDE_NS $OUTSIDE_IF $OUTSIDE_ADDR/$PREFIX, no default route
Guest networks (bridges, dnsmasq, NAT) live in $HOST_NS.  \`vmctl\` run on this
host joins libvirtd's namespace by itself; any other tool that must reach a
guest (ssh, ping, curl, socat, …) has to be run as \`scripts/hostns CMD …\`,
and \`scripts/outside CMD …\` runs it on the neighbour host.
EOF
}

# ---------------------------------------------------------------------------
# --teardown
# ---------------------------------------------------------------------------
teardown() {
  local unit pid recorded net dom
  if unit=$(systemd_libvirt_unit); then
    info "libvirt: $unit.service belongs to systemd; leaving it alone"
  fi

  # libvirtd: ours if it runs in vmctl-host or is the one we recorded.
  recorded=$(cat "$STATE_DIR/libvirtd.pid" 2>/dev/null || true)
  if pid=$(pid_from_file "$LIBVIRTD_PIDFILE" libvirtd) &&
    { [[ $pid == "$recorded" ]] || pid_in_netns "$pid" "$HOST_NS"; }; then
    # Guests and networks only make sense inside the namespace we are about
    # to delete: stop them cleanly through libvirt (definitions are kept), so
    # a later bootstrap does not find qemu/dnsmasq in a dead namespace.
    if timeout 5 virsh -c "$URI" version >/dev/null 2>&1; then
      for dom in $(virsh_q list --name || true); do
        virsh_q destroy "$dom" >/dev/null && did "destroyed domain $dom"
      done
      for net in $(virsh_q net-list --name || true); do
        virsh_q net-destroy "$net" >/dev/null && did "destroyed network $net"
      done
    fi
    stop_pid "$pid" libvirtd
    did "stopped libvirtd (pid $pid)"
  elif [[ -n ${pid:-} ]]; then
    info "libvirtd pid $pid was not started by this script; leaving it alone"
  fi

  recorded=$(cat "$STATE_DIR/virtlogd.pid" 2>/dev/null || true)
  if pid=$(pid_from_file "$VIRTLOGD_PIDFILE" virtlogd); then
    if [[ $pid == "$recorded" ]]; then
      stop_pid "$pid" virtlogd
      did "stopped virtlogd (pid $pid)"
    else
      info "virtlogd pid $pid was not started by this script; leaving it alone"
    fi
  fi

  local ns
  for ns in "$HOST_NS" "$OUTSIDE_NS"; do
    [[ -e /run/netns/$ns ]] || continue
    # Anything still running in our namespaces (a test server, a leftover
    # qemu) would keep the namespace and its veth alive after `ip netns
    # delete`; these namespaces are the project's, so end those processes.
    for pid in $(ip netns pids "$ns" 2>/dev/null || true); do
      stop_pid "$pid" "process $pid ($(cat "/proc/$pid/comm" 2>/dev/null || echo '?')) in $ns"
      did "stopped pid $pid in $ns"
    done
    # Deleting vmctl-host also destroys the veth pair (both ends go together).
    ip netns delete "$ns"
    did "deleted network namespace $ns"
  done

  if [[ -d $NETNS_ETC ]]; then
    rm -rf "$NETNS_ETC"
    rmdir /etc/netns 2>/dev/null || true
    did "removed $NETNS_ETC"
  fi
  rm -rf "$STATE_DIR"

  if [[ $CHANGED -eq 0 ]]; then info "teardown: nothing to do"; else info "teardown: done"; fi
}

# ---------------------------------------------------------------------------
main() {
  local mode=up arg
  for arg in "$@"; do
    case $arg in
      --teardown) mode=teardown ;;
      --quiet | -q) QUIET=1 ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; exit 2 ;;
    esac
  done
  [[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages, creates namespaces and starts libvirtd)"

  if [[ $mode == teardown ]]; then
    teardown
    return 0
  fi

  local start=$EPOCHREALTIME unit
  ensure_packages
  ensure_management_group

  if unit=$(systemd_libvirt_unit); then
    ensure_network_hook
    use_systemd_daemon "$unit"
    [[ ${HOOK_CHANGED:-0} -eq 0 ]] || { systemctl restart "$unit.service"; did "restarted $unit.service for the new hook"; }
  else
    ensure_namespaces
    ensure_virtlogd
    ensure_network_hook
    LIBVIRTD_BEFORE=$(libvirtd_pids)
    ensure_libvirtd
    restart_libvirtd_for_hook
    summary
  fi

  local elapsed
  elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  if [[ $CHANGED -eq 0 ]]; then
    info "bootstrap: everything already in place (${elapsed}s)"
  else
    info "bootstrap: done (${elapsed}s)"
  fi
}

main "$@"

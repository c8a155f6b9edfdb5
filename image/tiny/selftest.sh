#!/usr/bin/env bash
# selftest.sh IMAGE.qcow2 — boot the vmctl tiny image under plain QEMU (TCG,
# no libvirt) and check what the guest promises: NoCloud seed, HTTP, SSH,
# runcmd once per instance, persistent /data across a reboot, CGI, and a
# clean ACPI power-off.
#
# Networking is QEMU user mode with restrict=on: the guest can reach nothing
# outside QEMU, and the host reaches it only through hostfwd on 127.0.0.1.
set -euo pipefail

readonly HOSTNAME_WANT="selftest1"
readonly INSTANCE_ID="iid-selftest-$$"
readonly BOOT_TIMEOUT=120      # s, power-on -> HTTP (TCG is slow, be generous)
readonly POWEROFF_TIMEOUT=20   # s, system_powerdown -> qemu exits

TMP=""
QEMU_PID=""
T0=""

die() { echo "selftest: FAIL: $*" >&2; exit 1; }
info() { echo "selftest: $*"; }
pass() { echo "selftest: ok: $*"; }

now() { date +%s.%N; }
# elapsed SINCE: seconds since the timestamp SINCE, 1 decimal.
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

cleanup() {
  local rc=$?
  if [[ -n "$QEMU_PID" ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
    kill "$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
  fi
  if [[ $rc -ne 0 && -n "$TMP" && -f "$TMP/serial.log" ]]; then
    echo "---- last lines of the guest console ----" >&2
    tail -n 40 "$TMP/serial.log" | tr -d '\033' >&2
    echo "-----------------------------------------" >&2
  fi
  if [[ -n "$TMP" ]]; then rm -rf -- "$TMP"; fi
}

require() {
  command -v "$1" >/dev/null 2>&1 || die "missing tool '$1' (Debian package: $2)"
}

# free_port: a TCP port on 127.0.0.1 nobody listens on (best effort).
free_port() {
  local port tries=0
  while ((tries++ < 50)); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  die "no free port found"
}

# monitor CMD: one command on the QEMU human monitor socket.
monitor() {
  if command -v socat >/dev/null 2>&1; then
    echo "$1" | socat - "UNIX-CONNECT:$TMP/mon.sock" >/dev/null
  else
    python3 - "$TMP/mon.sock" "$1" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
time.sleep(0.5)
s.close()
EOF
  fi
}

guest_ssh() {
  ssh -p "$SSH_PORT" -i "$TMP/key" \
    -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=5 \
    -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="$TMP/known_hosts" \
    -o ServerAliveInterval=2 -o ServerAliveCountMax=3 -o LogLevel=ERROR \
    root@127.0.0.1 "$@"
}

http_get() { curl -sf -m 3 "http://127.0.0.1:$HTTP_PORT$1"; }

# poll SECONDS DESCRIPTION CMD...: retry CMD every 0.2 s until it succeeds.
poll() {
  local limit="$1" what="$2" start
  shift 2
  start="$(now)"
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$QEMU_PID" 2>/dev/null; then die "qemu exited while waiting for: $what"; fi
    if awk -v a="$start" -v b="$(now)" -v l="$limit" 'BEGIN { exit !(b - a > l) }'; then
      die "timed out after ${limit}s waiting for: $what"
    fi
    sleep 0.2
  done
}

page_names_host() { http_get / | grep -q "<h1>$HOSTNAME_WANT</h1>"; }
ssh_hostname_ok() { [[ "$(guest_ssh hostname)" == "$HOSTNAME_WANT" ]]; }
runcmd_done() { guest_ssh 'test -f /data/fromseed && grep -q "runcmd done" /data/.vmctl/runcmd.log'; }
console_count() { grep -c -- "$1" "$TMP/serial.log" 2>/dev/null || true; }
booted_twice() { [[ "$(console_count 'vmctl-tiny: booting')" -ge 2 ]]; }

# le32_at FILE OFFSET: the little-endian 32-bit number at OFFSET in FILE.
le32_at() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }

# data_fs_clean: the ext4 on partition 2 of the (stopped) overlay has no
# pending journal recovery, i.e. it was unmounted cleanly.
data_fs_clean() {
  qemu-img dd -f qcow2 -O raw if="$TMP/overlay.qcow2" of="$TMP/mbr.bin" bs=512 count=1
  local start
  start="$(le32_at "$TMP/mbr.bin" 470)"    # entry 2 (446 + 16) + 8: LBA start
  # (qemu-img dd's skip= is unusable together with count= in QEMU 7.2, so
  # copy everything up to the superblock.)
  qemu-img dd -f qcow2 -O raw if="$TMP/overlay.qcow2" of="$TMP/head.bin" bs=65536 count=$((start / 128 + 1))
  local sb=$((start * 512 + 1024))
  [[ "$(od -An -tx2 -j $((sb + 56)) -N2 "$TMP/head.bin" | tr -d ' ')" == ef53 ]] || die "no ext4 superblock on partition 2"
  local incompat
  incompat="$(le32_at "$TMP/head.bin" $((sb + 96)))"
  (( (incompat & 4) == 0 ))                # EXT3_FEATURE_INCOMPAT_RECOVER
}

make_seed() {
  ssh-keygen -q -t ed25519 -N '' -C selftest -f "$TMP/key"
  mkdir -p "$TMP/seed"
  cat >"$TMP/seed/meta-data" <<EOF
instance-id: $INSTANCE_ID
local-hostname: $HOSTNAME_WANT
EOF
  # runcmd items exercise the three scalar styles: single-quoted (with ''),
  # double-quoted and plain.
  cat >"$TMP/seed/user-data" <<EOF
#cloud-config
ssh_authorized_keys:
  - $(cat "$TMP/key.pub")
runcmd:
  - 'echo hello > /data/fromseed'
  - 'echo run >> /data/runcount'
  - 'printf ''#!/bin/sh\necho Content-Type: text/plain\necho\necho cgi-ok \$(hostname)\n'' > /www/cgi-bin/hello && chmod 755 /www/cgi-bin/hello'
  - "echo \"double\" >> /data/quotes"
  - echo plain >> /data/quotes # a comment
EOF
  # Plain ISO9660 names (no Joliet/Rock Ridge), like vmctl writes.
  genisoimage -quiet -V cidata -o "$TMP/seed.iso" "$TMP/seed/meta-data" "$TMP/seed/user-data"
}

start_qemu() {
  qemu-img create -q -f qcow2 -F qcow2 -b "$IMAGE" "$TMP/overlay.qcow2" 2G
  HTTP_PORT="$(free_port)"
  SSH_PORT="$(free_port)"
  info "HTTP on 127.0.0.1:$HTTP_PORT, SSH on 127.0.0.1:$SSH_PORT"
  T0="$(now)"
  qemu-system-x86_64 -accel tcg -machine pc -m 256 -smp 1 -nographic \
    -serial "file:$TMP/serial.log" \
    -monitor "unix:$TMP/mon.sock,server,nowait" \
    -drive "file=$TMP/overlay.qcow2,if=virtio,format=qcow2" \
    -drive "file=$TMP/seed.iso,if=virtio,format=raw,readonly=on" \
    -nic "user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:$HTTP_PORT-:80,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22" \
    </dev/null >"$TMP/qemu.log" 2>&1 &
  QEMU_PID=$!
}

main() {
  [[ $# -eq 1 ]] || { echo "usage: $0 IMAGE.qcow2" >&2; exit 2; }
  IMAGE="$(realpath -- "$1")"
  [[ -f "$IMAGE" ]] || die "no such image: $1"
  require qemu-system-x86_64 qemu-system-x86
  require qemu-img qemu-utils
  require genisoimage genisoimage
  require ssh openssh-client
  require ssh-keygen openssh-client
  require curl curl
  command -v socat >/dev/null 2>&1 || require python3 python3

  TMP="$(mktemp -d /tmp/vmctl-tiny-selftest.XXXXXX)"
  trap cleanup EXIT
  make_seed
  start_qemu

  # --- first boot -----------------------------------------------------------
  poll "$BOOT_TIMEOUT" "HTTP page naming $HOSTNAME_WANT" page_names_host
  local t_http
  t_http="$(elapsed "$T0")"
  pass "HTTP page names $HOSTNAME_WANT (power-on -> HTTP: ${t_http}s)"

  poll 60 "ssh hostname = $HOSTNAME_WANT" ssh_hostname_ok
  pass "ssh root@guest hostname -> $HOSTNAME_WANT (power-on -> SSH: $(elapsed "$T0")s)"

  grep -q "vmctl-tiny: ready hostname=$HOSTNAME_WANT ip=" "$TMP/serial.log" ||
    die "no 'vmctl-tiny: ready' line on the console"
  pass "console: $(grep -m1 -a 'vmctl-tiny: ready' "$TMP/serial.log" | tr -d '\r')"

  poll 60 "runcmd to finish" runcmd_done
  [[ "$(guest_ssh cat /data/fromseed)" == hello ]] || die "/data/fromseed has the wrong content"
  pass "runcmd wrote /data/fromseed"
  [[ "$(guest_ssh cat /data/quotes)" == $'double\nplain' ]] ||
    die "double-quoted/plain runcmd items mis-parsed: $(guest_ssh cat /data/quotes)"
  pass "runcmd quoting (single, double, plain)"

  [[ "$(http_get /cgi-bin/hello)" == "cgi-ok $HOSTNAME_WANT" ]] || die "CGI /cgi-bin/hello did not answer"
  pass "CGI script from runcmd answers"

  local data_mb
  data_mb="$(guest_ssh "df -m /data | awk 'NR == 2 { print \$2 }'")"
  [[ "$data_mb" -gt 1500 ]] || die "/data is only ${data_mb} MiB: partition 2 was not grown"
  pass "/data grown to ${data_mb} MiB"

  # shellcheck disable=SC2016 # expanded by the guest's shell, not here
  guest_ssh 'ip=$(cat /run/vmctl/ip); ping -c 1 -W 2 "$ip"' >/dev/null || die "guest does not answer ping on its own address"
  pass "guest answers ping"

  # --- reboot: /data and host keys persist, runcmd does not run again -------
  local marker="marker-$RANDOM-$$"
  guest_ssh "echo $marker > /data/marker && sync"
  local t_reboot
  t_reboot="$(now)"
  timeout 30 ssh -p "$SSH_PORT" -i "$TMP/key" -o BatchMode=yes -o IdentitiesOnly=yes \
    -o UserKnownHostsFile="$TMP/known_hosts" -o LogLevel=ERROR root@127.0.0.1 reboot || true
  poll "$BOOT_TIMEOUT" "the guest to boot a second time" booted_twice
  poll "$BOOT_TIMEOUT" "HTTP after reboot" page_names_host
  # Strict host key checking against the first boot's key: must still match.
  poll 60 "ssh after reboot (same host key)" ssh_hostname_ok
  pass "rebooted (reboot -> HTTP+SSH: $(elapsed "$t_reboot")s), SSH host key unchanged"
  [[ "$(guest_ssh cat /data/marker)" == "$marker" ]] || die "/data/marker did not survive the reboot"
  pass "/data/marker survived the reboot"
  [[ "$(guest_ssh 'wc -l < /data/runcount' | tr -d ' ')" == 1 ]] || die "runcmd ran more than once"
  pass "runcmd ran once per instance"
  [[ "$(http_get /cgi-bin/hello)" == "cgi-ok $HOSTNAME_WANT" ]] || die "CGI script lost after reboot"
  pass "CGI script kept across reboot"

  # --- ACPI power button ------------------------------------------------------
  local t_off
  t_off="$(now)"
  monitor system_powerdown
  local deadline=$((POWEROFF_TIMEOUT * 5))
  while kill -0 "$QEMU_PID" 2>/dev/null && ((deadline-- > 0)); do sleep 0.2; done
  if kill -0 "$QEMU_PID" 2>/dev/null; then
    die "guest did not power off within ${POWEROFF_TIMEOUT}s of system_powerdown"
  fi
  local t_poweroff qemu_rc=0
  t_poweroff="$(elapsed "$t_off")"
  wait "$QEMU_PID" || qemu_rc=$?
  QEMU_PID=""
  [[ $qemu_rc -eq 0 ]] || die "qemu exited with status $qemu_rc"
  grep -q "vmctl-tiny: shutting down" "$TMP/serial.log" || die "no clean shutdown message on the console"
  if grep -q "/data still busy" "$TMP/serial.log"; then die "/data was not unmounted at shutdown"; fi
  data_fs_clean || die "/data needs journal recovery: it was not unmounted cleanly"
  pass "ACPI power button: powered off in ${t_poweroff}s, /data unmounted cleanly"

  echo "selftest: PASS — power-on -> HTTP ${t_http}s"
}

main "$@"

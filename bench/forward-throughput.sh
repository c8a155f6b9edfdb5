#!/usr/bin/env bash
# bench/forward-throughput.sh [-n RUNS] [-s MIB]
#
# Forwarded TCP through vmctl's DNAT vs direct to the guest's address, both from the neighbour
# namespace (vmctl-outside) so both cross the host's forwarding path: a routed network whose guest
# serves a file over HTTP; the "direct" path reaches the guest's own address (route via the host,
# group allows 80), the "forward" path reaches host port 8080 (DNAT to the guest's 80).
# Prints throughput (MiB/s) and latency (time to first byte of a small page, ms) for both, and the
# ratios forward/direct (target ≥ 0.95 for throughput). Asserts nothing.
# Everything it makes is named bt-* and removed at the end (trap). Only the project's own namespaces
# and guests are contacted.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VMCTL=${VMCTL:-$REPO_DIR/.build/release/vmctl}
[[ -x $VMCTL ]] || VMCTL=$REPO_DIR/.build/debug/vmctl
OUTSIDE=$REPO_DIR/scripts/outside
RUNS=5
MIB=32
while getopts "n:s:" opt; do
  case $opt in
    n) RUNS=$OPTARG ;;
    s) MIB=$OPTARG ;;
    *) echo "usage: $0 [-n RUNS] [-s MIB]" >&2; exit 64 ;;
  esac
done
[[ $RUNS =~ ^[0-9]+$ && $MIB =~ ^[0-9]+$ ]] || { echo "RUNS and MIB must be numbers" >&2; exit 64; }

readonly NET=bt-net SUBNET=10.87.0.0/24 VM=bt-web GROUP=bt-web HOST=198.51.100.1 PORT=8080

cleanup() {
  "$VMCTL" delete "$VM" >/dev/null 2>&1 || true
  "$VMCTL" secgroup delete "$GROUP" >/dev/null 2>&1 || true
  "$VMCTL" net delete "$NET" --force >/dev/null 2>&1 || true
  "$OUTSIDE" ip route del "$SUBNET" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

"$VMCTL" net create "$NET" --subnet "$SUBNET" --mode routed >/dev/null
"$VMCTL" create "$VM" --network "$NET" --memory 512M --start >/dev/null 2>&1
GUEST=$("$VMCTL" ip "$VM" --wait 120)
"$VMCTL" secgroup create "$GROUP" >/dev/null
"$VMCTL" secgroup rule add "$GROUP" --ingress --proto tcp --port 80 >/dev/null
"$VMCTL" secgroup attach "$VM" "$GROUP" >/dev/null
"$VMCTL" forward add "$VM" --rule "web,tcp,$HOST,$PORT,,80" >/dev/null
"$VMCTL" ssh "$VM" -- "dd if=/dev/urandom of=/www/big bs=1M count=$MIB 2>/dev/null; sync"
"$OUTSIDE" ip route replace "$SUBNET" via "$HOST"

# curl's own timers: bytes per second of the body, and time to the first byte.
fetch() { "$OUTSIDE" curl -s -o /dev/null -m 120 -w "$2" "$1"; }

declare -A speed=() ttfb=()
for ((run = 1; run <= RUNS; run++)); do
  # Alternate the order so a warming cache or a busy core does not favour one path.
  if ((run % 2)); then order=(direct forward); else order=(forward direct); fi
  for path in "${order[@]}"; do
    if [[ $path == direct ]]; then base="http://$GUEST"; else base="http://$HOST:$PORT"; fi
    speed[$path]+="$(fetch "$base/big" '%{speed_download}') "
    ttfb[$path]+="$(fetch "$base/" '%{time_starttransfer}') "
  done
done

mean() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.4f", s / NF }' <<<"$1"; }
d_speed=$(mean "${speed[direct]}"); f_speed=$(mean "${speed[forward]}")
d_ttfb=$(mean "${ttfb[direct]}"); f_ttfb=$(mean "${ttfb[forward]}")
printf '%-8s %12s %14s\n' path "MiB/s" "first byte ms"
printf '%-8s %12.2f %14.1f\n' direct "$(awk -v v="$d_speed" 'BEGIN { print v / 1048576 }')" "$(awk -v v="$d_ttfb" 'BEGIN { print v * 1000 }')"
printf '%-8s %12.2f %14.1f\n' forward "$(awk -v v="$f_speed" 'BEGIN { print v / 1048576 }')" "$(awk -v v="$f_ttfb" 'BEGIN { print v * 1000 }')"
awk -v f="$f_speed" -v d="$d_speed" -v ft="$f_ttfb" -v dt="$d_ttfb" \
  'BEGIN { printf "throughput forward/direct: %.3f (target >= 0.95); latency forward/direct: %.3f\n", f / d, ft / dt }'

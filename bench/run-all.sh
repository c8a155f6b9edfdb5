#!/usr/bin/env bash
# bench/run-all.sh — run every vmctl benchmark, in order (what `make bench`
# calls).  The list benchmark goes first: it takes seconds, and runs while no
# benchmark guest is booting and eating the CPU under TCG.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly BENCH_DIR

echo "== bench/list.sh"
"$BENCH_DIR/list.sh"
echo
echo "== bench/firewall.sh"
"$BENCH_DIR/firewall.sh"
echo "== bench/forward-throughput.sh"
"$BENCH_DIR/forward-throughput.sh"
echo
echo "== bench/create-to-http.sh"
"$BENCH_DIR/create-to-http.sh"
echo
echo "== bench/clone.sh"
"$BENCH_DIR/clone.sh"

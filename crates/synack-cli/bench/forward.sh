#!/usr/bin/env bash
# `synack forward` against tun2proxy and against the kernel speaking SOCKS5 itself, all three
# through the same microsocks, side by side in one run. Root only; everything happens inside
# network namespaces this script creates and deletes.
#
#   cargo build --release -p synack-cli
#   cargo install tun2proxy --root /tmp/t2p       # once; or set TUN2PROXY=/path/to/tun2proxy-bin
#   (tun2proxy runs with --max-sessions 100000 and --tcp-mss 1460, its best settings here)
#   sudo crates/synack-cli/bench/forward.sh [MB]  # default 512 MB per transfer
#   MODES="kernel synack" ... runs only those (default: kernel synack tun2proxy)
#
#  netns C: the load generator, the TUN device (default route) and the forwarder under test
#  netns S: microsocks on 10.201.0.2:1080, the servers on 10.202.0.2 (sink, source, HTTP/1.0)
#  C routes 10.201.0.2/32 (the proxy) over the veth and everything else into the TUN device,
#  so the forwarder's own connection to the proxy never loops back. "kernel" is the load
#  generator in C speaking SOCKS5 to microsocks itself: the ceiling of the path.
#
# Figures: throughput each way with 128 KiB and 1 MiB writes (payload over wall time, a transfer
# that stalls for 60 s or arrives short is reported as failed); connections per second of short
# HTTP/1.0 requests from 16 threads for 10 s (failed ones counted); and the forwarder's RSS per
# idle connection while $IDLE (default 9,000) are held open (VmRSS before and after).
set -euo pipefail
MB=${1:-512}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=${SYNACK_BIN:-$ROOT/target/release/synack}
T2P=${TUN2PROXY:-/tmp/t2p/bin/tun2proxy-bin}
# Idle connections held open for the memory figure: microsocks needs two descriptors for each,
# so the default stays under a 20,000 descriptor limit.
IDLE=${IDLE:-9000}
[ "$(id -u)" = 0 ] || { echo "SKIPPED: needs root"; exit 0; }
[ -x "$BIN" ] || { echo "build first: cargo build --release -p synack-cli ($BIN)"; exit 1; }
for t in ip microsocks rustc; do command -v $t >/dev/null || { echo "SKIPPED: $t missing"; exit 0; }; done
TAG=$$
C=synack-fb-c-$TAG; S=synack-fb-s-$TAG; VC=fbc$TAG; VS=fbs$TAG; TUN=fbt$TAG
WORK=$(mktemp -d /tmp/synack-forward-bench.XXXXXX)
LOAD=$WORK/forward_load
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in $C $S; do ip netns del $n 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
export RUST_BACKTRACE=0
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

rustc --edition 2021 -O -o "$LOAD" "$(dirname "$0")/forward_load.rs"

ip netns add $C; ip netns add $S
ip link add $VC type veth peer name $VS
ip link set $VC netns $C; ip link set $VS netns $S
for n in $C $S; do ip -n $n link set lo up; done
ip -n $C link set $VC up; ip -n $S link set $VS up
ip -n $C addr add 10.201.0.1/24 dev $VC noprefixroute
ip -n $C route add 10.201.0.2/32 dev $VC
ip -n $S addr add 10.201.0.2/24 dev $VS
ip -n $S addr add 10.202.0.2/32 dev lo
ip -n $S route add 10.200.0.0/16 dev $VS

ip netns exec $S "$LOAD" serve >/dev/null & PIDS+=($!)
ip netns exec $S microsocks -i 10.201.0.2 -p 1080 >/dev/null 2>&1 & PIDS+=($!)
sleep 0.5

DST=10.202.0.2
PROXY=10.201.0.2:1080
FWD_PID=
start_forwarder() { # $1 = synack | tun2proxy | kernel
  FWD_PID=
  case $1 in
    synack)
      ip netns exec $C "$BIN" forward --tun $TUN --addr 10.200.0.1/24 --socks5 $PROXY \
        --stats-interval 3600 >"$WORK/fwd.log" 2>&1 &
      FWD_PID=$!;;
    tun2proxy)
      ip netns exec $C "$T2P" --tun $TUN --proxy socks5://$PROXY --max-sessions 100000 \
        --tcp-mss 1460 >"$WORK/fwd.log" 2>&1 &
      FWD_PID=$!;;
    kernel) return 0;;
  esac
  PIDS+=($FWD_PID)
  for _ in $(seq 100); do ip -n $C link show $TUN >/dev/null 2>&1 && break; sleep 0.1; done
  ip -n $C addr add 10.200.0.1/24 dev $TUN 2>/dev/null || true
  ip -n $C link set $TUN up
  ip -n $C route replace default dev $TUN
  sleep 0.5
}
stop_forwarder() {
  [ -n "$FWD_PID" ] || return 0
  kill -INT $FWD_PID 2>/dev/null || true
  for _ in $(seq 50); do kill -0 $FWD_PID 2>/dev/null || break; sleep 0.1; done
  kill -KILL $FWD_PID 2>/dev/null || true
  wait $FWD_PID 2>/dev/null || true
  ip -n $C link del $TUN 2>/dev/null || true
}
rss_kb() { awk '/^VmRSS/ {print $2}' /proc/$1/status; }

# $1 = mode: load-generator arguments for the kernel are the same plus --socks5.
run_mode() {
  local mode=$1 via=()
  [ "$mode" = kernel ] && via=(--socks5 $PROXY)
  start_forwarder $mode
  for dir in up down; do
    for w in 131072 1048576; do
      r=$(timeout 300 ip netns exec $C "$LOAD" $dir $DST --bytes $((MB << 20)) --write $w "${via[@]}" 2>&1 | grep -v '^note:' | tail -1) || r="FAILED (stalled or short): $r"
      echo "$mode $dir write=$w: $r"
    done
  done
  r=$(timeout 60 ip netns exec $C "$LOAD" conns $DST --threads 16 --secs 10 "${via[@]}" 2>&1 | grep -v '^note:' | tail -1) || r="FAILED: $r"
  echo "$mode conns: $r"
  if [ -n "$FWD_PID" ]; then
    before=$(rss_kb $FWD_PID)
    coproc IDLER { ip netns exec $C "$LOAD" idle $DST --count $IDLE --timeout 10; }
    read -r line <&"${IDLER[0]}" || line="idle: FAILED"
    sleep 2
    after=$(rss_kb $FWD_PID)
    held=$(sed -n 's/.*held=\([0-9]*\).*/\1/p' <<<"$line"); held=${held:-0}
    per=n/a; [ "$held" -gt 0 ] && per=$(( (after - before) * 1024 / held ))
    echo "$mode idle: $line rss_before_kb=$before rss_after_kb=$after bytes_per_held_flow=$per"
    exec {IDLER[1]}>&-
    wait $IDLER_PID 2>/dev/null || true
  fi
  stop_forwarder
}

echo "forward benchmark: $MB MB per transfer, through microsocks; $(date -u +%FT%TZ), $(nproc) cores"
for m in ${MODES:-kernel synack tun2proxy}; do
  if [ $m = tun2proxy ] && [ ! -x "$T2P" ]; then echo "tun2proxy: SKIPPED ($T2P not found)"; continue; fi
  run_mode $m
done

#!/usr/bin/env bash
# TUN throughput of synack against the Linux kernel, next to the kernel's own TCP over a veth
# pair measured in the same run (issue 6's benchmark). Root only; everything happens inside
# network namespaces this script creates and deletes.
#
#   cargo build --release -p synack-cli
#   sudo crates/synack-cli/bench/tun-throughput.sh [MB]        # default 1000 MB per direction
#
# Directions:
#   kernel -> synack   python3 in the namespace sends MB to `synack serve discard` over TUN
#   synack -> kernel   `synack connect` sends MB (from a pipe) to a python3 receiver
#   kernel veth        python3 to python3 across a veth pair, offloads (TSO/GSO/GRO) off, MTU 1500
# Each figure is payload bytes over wall time from connect to the receiver's end of stream.
set -euo pipefail
MB=${1:-1000}
BIN=${SYNACK_BIN:-$(dirname "$0")/../../../target/release/synack}
[ "$(id -u)" = 0 ] || { echo "SKIPPED: needs root"; exit 0; }
[ -x "$BIN" ] || { echo "build first: cargo build --release -p synack-cli ($BIN)"; exit 1; }
for t in ip python3 ethtool; do command -v $t >/dev/null || { echo "SKIPPED: $t missing"; exit 0; }; done
TAG=$$
NS=synack-bench-$TAG; NA=synack-bva-$TAG; NB=synack-bvb-$TAG
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in $NS $NA $NB; do ip netns del $n 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
BYTES=$((MB * 1024 * 1024))

SEND='
import socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
buf = b"\0" * (1 << 20)
t0 = time.monotonic()
s = socket.create_connection((host, port), timeout=120)
left = n
while left:
    k = s.send(buf[:min(left, len(buf))])
    left -= k
s.shutdown(socket.SHUT_WR)
while s.recv(65536): pass
dt = time.monotonic() - t0
print("%.3f Gbit/s (%d bytes in %.2f s)" % (n * 8 / dt / 1e9, n, dt))
'
RECV='
import socket, sys, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2]))); l.listen(1); l.settimeout(120)
print("READY", flush=True)
c, _ = l.accept(); t0 = time.monotonic()
buf = bytearray(1 << 20); n = 0
while True:
    k = c.recv_into(buf)
    if not k: break
    n += k
dt = time.monotonic() - t0
print("%.3f Gbit/s (%d bytes in %.2f s)" % (n * 8 / dt / 1e9, n, dt), flush=True)
'
wait_for() { for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "timeout waiting for $2 in $1"; cat "$1"; exit 1; }
TMP=$(mktemp -d); PIDS_TMP=$TMP

ip netns add $NS; ip netns exec $NS ip link set lo up
echo "kernel $(uname -r), $(nproc) CPUs, $MB MB per direction, MTU 1500"

# kernel -> synack
ip netns exec $NS "$BIN" serve discard --tun synb0 --addr 10.90.0.2/24 --kernel-addr 10.90.0.1/24 >"$TMP/serve" 2>/dev/null &
PIDS+=($!); wait_for "$TMP/serve" "synack serves"
ip netns exec $NS ethtool -K synb0 tso off gso off gro off >/dev/null 2>&1 || true
printf "kernel -> synack (TUN): "; ip netns exec $NS timeout 300 python3 -c "$SEND" 10.90.0.2 9 $BYTES
kill -INT "${PIDS[-1]}"; wait "${PIDS[-1]}" || true

# synack -> kernel
ip netns exec $NS python3 -c "$RECV" 0.0.0.0 5001 >"$TMP/recv" 2>&1 &
PIDS+=($!); wait_for "$TMP/recv" READY
head -c $BYTES /dev/zero | ip netns exec $NS timeout 300 "$BIN" connect --tun synb1 --addr 10.91.0.2/24 --kernel-addr 10.91.0.1/24 10.91.0.1:5001 >/dev/null
wait "${PIDS[-1]}" || true
printf "synack -> kernel (TUN): "; grep Gbit "$TMP/recv"

# kernel over veth, same run
ip netns add $NA; ip netns add $NB
ip link add va$TAG type veth peer name vb$TAG
ip link set va$TAG netns $NA; ip link set vb$TAG netns $NB
ip netns exec $NA ip addr add 10.92.0.1/24 dev va$TAG; ip netns exec $NB ip addr add 10.92.0.2/24 dev vb$TAG
for n in $NA:va$TAG $NB:vb$TAG; do
  ip netns exec ${n%%:*} ip link set ${n#*:} mtu 1500 up
  ip netns exec ${n%%:*} ethtool -K ${n#*:} tso off gso off gro off >/dev/null 2>&1 || true
done
ip netns exec $NB python3 -c "$RECV" 10.92.0.2 5002 >"$TMP/vrecv" 2>&1 &
PIDS+=($!); wait_for "$TMP/vrecv" READY
ip netns exec $NA timeout 300 python3 -c "$SEND" 10.92.0.2 5002 $BYTES >/dev/null
wait "${PIDS[-1]}" || true
printf "kernel -> kernel (veth, offloads off): "; grep Gbit "$TMP/vrecv"
rm -rf "$TMP"

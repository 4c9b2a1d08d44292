#!/usr/bin/env bash
# TUN throughput of synack against the Linux kernel, next to the kernel's own TCP over a veth
# pair measured in the same run (issue 6's benchmark). Root only; everything happens inside
# network namespaces this script creates and deletes.
#
#   cargo build --release -p synack-cli && cargo build --release -p synack --example tun_bulk
#   sudo crates/synack-cli/bench/tun-throughput.sh [MB]        # default 1000 MB per direction
#
# Directions:
#   kernel -> synack   python3 in the namespace sends MB to `synack serve discard` over TUN
#   synack -> kernel   `synack connect` sends MB (from a pipe) to a python3 receiver
#   API, both ways     the same through the blocking API with 1 MiB reads and writes (the
#                      `tun_bulk` example: no stdin pipe, no 64 KiB/8 KiB copies of the CLI)
#   kernel veth        python3 to python3 across a veth pair, offloads (TSO/GSO/GRO) off, MTU 1500
# Each figure is payload bytes over wall time from connect to the receiver's end of stream.
# Also printed: the CPU time the synack process used (user + system, all threads, from
# /proc/PID/stat, so it includes the kernel work done inside synack's TUN reads and writes),
# and the kernel socket's MSS, window scale, congestion window and windows from `ss -ti`,
# sampled mid-transfer.
set -euo pipefail
MB=${1:-1000}
BIN=${SYNACK_BIN:-$(dirname "$0")/../../../target/release/synack}
BULK=${TUN_BULK_BIN:-$(dirname "$0")/../../../target/release/examples/tun_bulk}
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
TICK=$(getconf CLK_TCK)
# CPU seconds (user + system) a process has used so far: "U S".
cpu_of() { awk -v t="$TICK" '{ printf "%.2f %.2f", $14 / t, $15 / t }' "/proc/$1/stat" 2>/dev/null; }
cpu_line() { # "U S" MB
  awk -v u="${1% *}" -v s="${1#* }" -v mb="$2" 'BEGIN { printf "  synack CPU: %.2f s user + %.2f s sys = %.2f s per GB\n", u, s, (u + s) * 1024 / mb }'
}
# The kernel's view of its TCP socket to PORT, after DELAY seconds: mss, wscale, cwnd, windows.
ss_later() { # NS PORT DELAY OUT
  (sleep "$3"; ip netns exec "$1" ss -tinH "( dport = :$2 or sport = :$2 )" 2>/dev/null |
    grep -oE '(wscale|mss|advmss|rcvmss|cwnd|snd_wnd|rcv_space|rcv_wnd):[0-9,.]+' | sort -u | tr '\n' ' ' >"$4") &
}
wait_for() { for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "timeout waiting for $2 in $1"; cat "$1"; exit 1; }
TMP=$(mktemp -d); PIDS_TMP=$TMP

ip netns add $NS; ip netns exec $NS ip link set lo up
echo "kernel $(uname -r), $(nproc) CPUs, $MB MB per direction, MTU 1500"

# kernel -> synack
ip netns exec $NS "$BIN" serve discard --tun synb0 --addr 10.90.0.2/24 --kernel-addr 10.90.0.1/24 >"$TMP/serve" 2>/dev/null &
PIDS+=($!); wait_for "$TMP/serve" "synack serves"
ip netns exec $NS ethtool -K synb0 tso off gso off gro off >/dev/null 2>&1 || true
ss_later $NS 9 0.5 "$TMP/ss0"
printf "kernel -> synack (TUN): "; ip netns exec $NS timeout 300 python3 -c "$SEND" 10.90.0.2 9 $BYTES
C=$(cpu_of "${PIDS[-1]}"); kill -INT "${PIDS[-1]}"; wait "${PIDS[-1]}" || true
cpu_line "$C" "$MB"; wait; echo "  kernel sender: $(cat "$TMP/ss0")"

# synack -> kernel
ip netns exec $NS python3 -c "$RECV" 0.0.0.0 5001 >"$TMP/recv" 2>&1 &
PIDS+=($!); wait_for "$TMP/recv" READY
ss_later $NS 5001 0.8 "$TMP/ss1"
head -c $BYTES /dev/zero | ip netns exec $NS timeout 300 "$BIN" connect --tun synb1 --addr 10.91.0.2/24 --kernel-addr 10.91.0.1/24 10.91.0.1:5001 >/dev/null &
CP=$!; C="0 0"
# `timeout` runs synack as its child: sample the child's CPU until it ends.
while kill -0 $CP 2>/dev/null; do
  S=$(pgrep -P $CP | head -1) && C2=$(cpu_of "$S") && [ -n "$C2" ] && C=$C2
  sleep 0.02
done
wait $CP || true
wait "${PIDS[-1]}" || true
printf "synack -> kernel (TUN): "; grep Gbit "$TMP/recv"
cpu_line "$C" "$MB"; wait; echo "  kernel receiver: $(cat "$TMP/ss1")"

# The same through the API (tun_bulk), when built.
if [ -x "$BULK" ]; then
  ip netns exec $NS "$BULK" synb2 10.93.0.2/24 10.93.0.1/24 recv 9 >"$TMP/bulkr" 2>&1 &
  PIDS+=($!); wait_for "$TMP/bulkr" READY
  ip netns exec $NS ethtool -K synb2 tso off gso off gro off >/dev/null 2>&1 || true
  ip netns exec $NS timeout 300 python3 -c "$SEND" 10.93.0.2 9 $BYTES >/dev/null
  C=$(cpu_of "${PIDS[-1]}"); wait "${PIDS[-1]}" || true
  printf "kernel -> synack API (TUN): "; grep Gbit "$TMP/bulkr"; cpu_line "$C" "$MB"
  ip netns exec $NS python3 -c "$RECV" 0.0.0.0 5003 >"$TMP/recv3" 2>&1 &
  PIDS+=($!); wait_for "$TMP/recv3" READY
  ip netns exec $NS timeout 300 "$BULK" synb3 10.94.0.2/24 10.94.0.1/24 send 10.94.0.1:5003 $MB >"$TMP/bulks" 2>&1 &
  CP=$!; C="0 0"
  while kill -0 $CP 2>/dev/null; do
    S=$(pgrep -P $CP | head -1) && C2=$(cpu_of "$S") && [ -n "$C2" ] && C=$C2
    sleep 0.02
  done
  wait $CP || { cat "$TMP/bulks"; exit 1; }
  wait "${PIDS[-1]}" || true
  printf "synack API -> kernel (TUN): "; grep Gbit "$TMP/recv3"; cpu_line "$C" "$MB"
else
  echo "(API lines skipped: build the example with cargo build --release -p synack --example tun_bulk)"
fi

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
ss_later $NA 5002 0.5 "$TMP/ss2"
ip netns exec $NA timeout 300 python3 -c "$SEND" 10.92.0.2 5002 $BYTES >/dev/null
wait "${PIDS[-1]}" || true
printf "kernel -> kernel (veth, offloads off): "; grep Gbit "$TMP/vrecv"
wait; echo "  kernel sender: $(cat "$TMP/ss2")"
rm -rf "$TMP"

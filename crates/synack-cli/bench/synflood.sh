#!/bin/bash
# Spoofed SYN flood against `synack serve echo` on a TUN device in a namespace of its own, with
# legitimate kernel clients connecting meanwhile: prints the offered SYN rate, how many of the
# SYNs the TUN device took for synack, the legit success rate and connect times, how long
# the listener stays in SYN-cookie mode after the flood, the server's listen counters and its
# memory. As root; cleans up after itself.
#
#   crates/synack-cli/bench/synflood.sh [FLOODERS] [SECS] [SESSIONS] [RATE]
#
# FLOODERS `synack flood` processes put spoofed SYNs from other hosts of the TUN device's /24
# onto the device with a packet socket (sendmmsg batches), each at RATE SYN/s (0, the default:
# as fast as the device takes them), for SECS seconds while SESSIONS echo sessions (python
# kernel clients, crates/synack-cli/tests/chaos/attack.py legit) run 10 at a time.
# SHARDS=N in the environment runs `serve --shards N` (default: its own, one per core);
# TXQLEN=N sets the TUN device's txqueuelen (its queue to synack; default 500).
# NO_IO_URING=1 runs `serve --no-io-uring` (one read or write system call per packet instead
# of a batch per io_uring_enter). SYNACK_BIN=path runs another build of synack (to compare two
# side by side).
# Build first: cargo build --release -p synack-cli.
set -euo pipefail
FLOODERS=${1:-2}
SECS=${2:-10}
SESSIONS=${3:-300}
RATE=${4:-0}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=${SYNACK_BIN:-$ROOT/target/release/synack}
ATTACK=$ROOT/crates/synack-cli/tests/chaos/attack.py
NS=synack-synflood-$$
TUN=sfl$(( $$ % 100000 ))
NET=10.88.0
[ -x "$BIN" ] || { echo "build first: cargo build --release -p synack-cli" >&2; exit 1; }
ip netns add "$NS"
SERVE=
cleanup() { [ -n "$SERVE" ] && kill "$SERVE" 2>/dev/null; wait 2>/dev/null; ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" "$BIN" serve echo --tun "$TUN" --addr $NET.2/24 --kernel-addr $NET.1/24 --quiet \
  ${SHARDS:+--shards "$SHARDS"} ${NO_IO_URING:+--no-io-uring} > /tmp/$NS.log 2>&1 &
SERVE=$!
for _ in $(seq 50); do grep -q "synack serves" /tmp/$NS.log 2>/dev/null && break; sleep 0.1; done
[ -n "${TXQLEN:-}" ] && ip -n "$NS" link set dev "$TUN" txqueuelen "$TXQLEN"
# Packets the kernel dropped at the TUN device (its queue to synack full), so far.
tun_dropped() {
  ip -n "$NS" -s -j link show dev "$TUN" | python3 -c 'import sys, json; print(json.load(sys.stdin)[0]["stats64"]["tx"]["dropped"])'
}
# The legit clients' SYN retransmissions and all their retransmitted segments so far (the
# namespace's kernel TCP is only theirs: the flood goes through a packet socket).
legit_retrans() {
  ip netns exec "$NS" nstat -asz --json TcpExtTCPSynRetrans TcpRetransSegs | python3 -c '
import sys, json
k = json.load(sys.stdin)["kernel"]
print(k.get("TcpExtTCPSynRetrans", 0), k.get("TcpRetransSegs", 0))'
}
rss() { awk -v k="$1:" '$1 == k { print $2 }' /proc/$SERVE/status; }
before=$(rss VmRSS)
baseline=$(ip netns exec "$NS" python3 "$ATTACK" legit $NET.2 7 50 5)
dropped0=$(tun_dropped)
pids=()
for i in $(seq "$FLOODERS"); do
  ip netns exec "$NS" "$BIN" flood --dev "$TUN" --target $NET.2:7 --sources $NET.3-$NET.254 \
    --secs "$SECS" --rate "$RATE" --seed "$i" > /tmp/$NS.flood.$i &
  pids+=($!)
done
sleep 0.5
read -r syn_rtx0 rtx0 < <(legit_retrans)
during=$(ip netns exec "$NS" python3 "$ATTACK" legit $NET.2 7 "$SESSIONS" 10)
read -r syn_rtx1 rtx1 < <(legit_retrans)
wait "${pids[@]}"
dropped=$(( $(tun_dropped) - dropped0 ))
txqlen=$(ip -n "$NS" -j link show dev "$TUN" | python3 -c 'import sys, json; print(json.load(sys.stdin)[0]["txqlen"])')
read -r rate sent refused < <(cat /tmp/$NS.flood.* | python3 -c '
import sys, json
r = [json.loads(l) for l in sys.stdin]
print(int(sum(x["rate"] for x in r)), sum(x["sent"] for x in r), sum(x["refused"] for x in r))')
taken=$((sent / SECS))
peak=$(rss VmHWM)
flood_end=$(date +%s.%N)
after_flood=$(ip netns exec "$NS" python3 "$ATTACK" legit $NET.2 7 50 5)
sleep 5
after=$(rss VmRSS)
# serve prints "SYN cookies on/off" when its listener enters or leaves cookie mode (it looks
# once a second): wait (at most 150 s) for the last of those lines to say off.
cookie="never on"
if grep -q 'SYN cookies on' /tmp/$NS.log; then
  cookie="still on 150 s after the flood"
  for _ in $(seq 1500); do
    if grep 'SYN cookies' /tmp/$NS.log | tail -1 | grep -q 'cookies off'; then
      cookie=$(awk -v a="$(date +%s.%N)" -v b="$flood_end" 'BEGIN { printf "off %.0f s after the flood", a - b }')
      break
    fi
    sleep 0.1
  done
fi
kill -INT "$SERVE"; wait "$SERVE" 2>/dev/null || true; SERVE=
counts=$(grep -E '^(listen|shards):' /tmp/$NS.log || echo "listen: (no counters printed)")
rm -f /tmp/$NS.flood.* /tmp/$NS.log
echo "flooders $FLOODERS for $SECS s: $rate spoofed SYN/s offered in total; the TUN device took $sent ($taken/s)"
echo "TUN device full: $refused of the offered SYNs not taken; $dropped packets dropped by the device (txqueuelen $txqlen)"
echo "legit, no flood:     $baseline"
echo "legit, during flood: $during"
echo "legit clients' retransmissions during the flood: $((syn_rtx1 - syn_rtx0)) SYNs, $((rtx1 - rtx0)) segments in all"
echo "legit, right after:  $after_flood"
echo "serve RSS: ${before} kB before, peak ${peak} kB, ${after} kB 5 s after"
echo "SYN-cookie mode: $cookie (to within 1 s)"
echo "$counts"

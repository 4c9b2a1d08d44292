#!/bin/bash
# Captures real Linux traffic: A <-> B directly (veth), and A -> B -> C with B routing onto a
# 1280-byte-MTU link, for TCP Fast Open, SACK after a dropped segment, fragments, ICMP
# frag-needed / packet-too-big / time-exceeded.
# Usage (root): bash capture-tfo-sack-frag-pmtu.sh out.pcap. Needs iproute2, tcpdump, python3, ethtool (to turn off
# checksum offload so captured checksums are real), nftables.
set -eu
TD=; OUT="$1"
A=synwA$$; B=synwB$$; C=synwC$$
cleanup() { [ -n "$TD" ] && kill $TD 2>/dev/null || true; sleep 0.3; for n in $A $B $C; do ip netns del $n 2>/dev/null || true; done; }
trap cleanup EXIT
for n in $A $B $C; do ip netns add $n; ip -n $n link set lo up; done
ip link add va$$ netns $A type veth peer name vb$$ netns $B
ip link add wb$$ netns $B type veth peer name wc$$ netns $C
ip -n $A addr add 10.0.0.1/24 dev va$$; ip -n $B addr add 10.0.0.2/24 dev vb$$
ip -n $B addr add 10.0.1.2/24 dev wb$$; ip -n $C addr add 10.0.1.3/24 dev wc$$
ip -n $A addr add fd00::1/64 dev va$$ nodad; ip -n $B addr add fd00::2/64 dev vb$$ nodad
ip -n $B addr add fd01::2/64 dev wb$$ nodad; ip -n $C addr add fd01::3/64 dev wc$$ nodad
ip -n $B link set wb$$ mtu 1280; ip -n $C link set wc$$ mtu 1280
for l in "$A va$$" "$B vb$$" "$B wb$$" "$C wc$$"; do set -- $l; ip -n $1 link set $2 up
  ip netns exec $1 ethtool -K $2 tx off rx off tso off gso off gro off >/dev/null 2>&1 || true; done
ip -n $A route add 10.0.1.0/24 via 10.0.0.2; ip -n $C route add default via 10.0.1.2
ip -n $A -6 route add fd01::/64 via fd00::2; ip -n $C -6 route add default via fd01::2
ip netns exec $B sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
for n in $A $B; do ip netns exec $n sysctl -qw net.ipv4.tcp_fastopen=3; done
ip netns exec $B nft -f - <<NFT
table inet drop1 {
  chain in {
    type filter hook input priority 0;
    tcp dport 5002 ip length 151 quota until 200 bytes drop
  }
}
NFT
sleep 1
ip netns exec $A tcpdump -i va$$ -U -w "$OUT" -s 0 2>/dev/null & TD=$!
sleep 1.5
ip netns exec $B python3 -c '
import socket, threading
def tfo():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 5); s.bind(("10.0.0.2", 5003)); s.listen(4)
    for _ in range(2):
        c, _ = s.accept(); c.recv(100); c.sendall(b"ok"); c.recv(100); c.close()
def sack():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.0.0.2", 5002)); s.listen(4)
    c, _ = s.accept(); n = 0
    while n < 400:
        d = c.recv(1000)
        if not d: break
        n += len(d)
    c.close()
ts = [threading.Thread(target=f) for f in (tfo, sack)]
[t.start() for t in ts]; [t.join() for t in ts]
' & SV=$!
sleep 1
ip netns exec $A python3 -c '
import socket, time
for i in range(2):
    c = socket.socket(); c.sendto(b"fast open data", socket.MSG_FASTOPEN, ("10.0.0.2", 5003))
    c.recv(100); time.sleep(0.1); c.close(); time.sleep(0.3)
c = socket.socket(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1); c.connect(("10.0.0.2", 5002))
for p in [b"A", b"DROP", b"C", b"D"]:
    c.send(p * 100 if len(p) == 1 else b"DROP" * 24 + b"!!!"); time.sleep(0.05)
time.sleep(1); c.close(); time.sleep(0.3)
for fam, addr in [(socket.AF_INET, "10.0.0.2"), (socket.AF_INET6, "fd00::2")]:
    u = socket.socket(fam, socket.SOCK_DGRAM); u.sendto(b"F" * 3000, (addr, 5998)); time.sleep(0.2)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.setsockopt(socket.IPPROTO_IP, 10, 2)
try: u.sendto(b"M" * 1400, ("10.0.1.3", 5998))
except OSError: pass
time.sleep(0.2)
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
try: u.sendto(b"M" * 1400, ("fd01::3", 5998))
except OSError: pass
time.sleep(0.2)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1)
u.sendto(b"ttl", ("10.0.1.3", 5998)); time.sleep(0.2)
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 1)
u.sendto(b"hop", ("fd01::3", 5998)); time.sleep(0.2)
'
wait $SV
sleep 1

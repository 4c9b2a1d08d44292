#!/bin/bash
# Captures real Linux TCP/IP traffic between two network namespaces joined by a veth pair.
# Usage (root): bash capture-v4-v6-icmp.sh out.pcap. Needs iproute2, tcpdump, python3, ethtool (to turn off
# checksum offload so captured checksums are real), iputils-ping.
set -eu
TD=; OUT="$1"
A=synwA$$; B=synwB$$
cleanup() { [ -n "$TD" ] && kill $TD 2>/dev/null || true; sleep 0.3; ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; }
trap cleanup EXIT
ip netns add $A; ip netns add $B
ip link add va$$ netns $A type veth peer name vb$$ netns $B
ip -n $A addr add 10.0.0.1/24 dev va$$; ip -n $B addr add 10.0.0.2/24 dev vb$$
ip -n $A addr add fd00::1/64 dev va$$ nodad; ip -n $B addr add fd00::2/64 dev vb$$ nodad
ip -n $A link set va$$ up; ip -n $B link set vb$$ up; ip -n $A link set lo up; ip -n $B link set lo up
ip netns exec $A ethtool -K va$$ tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec $B ethtool -K vb$$ tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
sleep 1
ip netns exec $A tcpdump -i va$$ -U -w "$OUT" -s 0 'not arp or arp' 2>/dev/null & TD=$!
sleep 1.5
ip netns exec $B python3 -c '
import socket, threading
def serve(fam, addr):
    s = socket.socket(fam, socket.SOCK_STREAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 5001)); s.listen(4)
    c, _ = s.accept(); d = c.recv(100); c.sendall(b"hi " + d); c.recv(100); c.close(); s.close()
ts = [threading.Thread(target=serve, args=a) for a in [(socket.AF_INET, "10.0.0.2"), (socket.AF_INET6, "fd00::2")]]
[t.start() for t in ts]; [t.join() for t in ts]
' & SV=$!
sleep 1
ip netns exec $A python3 -c '
import socket, time
for fam, addr in [(socket.AF_INET, "10.0.0.2"), (socket.AF_INET6, "fd00::2")]:
    c = socket.socket(fam, socket.SOCK_STREAM); c.connect((addr, 5001))
    c.sendall(b"hello world\n"); c.recv(100); time.sleep(0.2); c.close(); time.sleep(0.3)
for fam, addr in [(socket.AF_INET, "10.0.0.2"), (socket.AF_INET6, "fd00::2")]:
    c = socket.socket(fam, socket.SOCK_STREAM)
    try: c.connect((addr, 5999))
    except OSError: pass
    u = socket.socket(fam, socket.SOCK_DGRAM); u.sendto(b"udp payload!", (addr, 5998)); time.sleep(0.2)
'
wait $SV
ip netns exec $A ping -c1 -s 20 10.0.0.2 >/dev/null
ip netns exec $A ping -6 -c1 -s 20 fd00::2 >/dev/null
sleep 1

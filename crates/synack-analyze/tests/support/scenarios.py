#!/usr/bin/env python3
"""Makes TCP captures with the Linux kernel inside a private network namespace.

Run as: unshare --net python3 scenarios.py OUTDIR [SCENARIO...]
The namespace is anonymous (created by `unshare`) and disappears with the last process in it,
so nothing needs cleaning up. Each scenario is captured by tcpdump on the namespace's loopback
(MTU lowered to 1500 so segments look like Ethernet ones) into OUTDIR/<scenario>.pcap.
"""
import os, shutil, socket, subprocess, sys, threading, time, struct

OUT = sys.argv[1]
V4 = "127.0.0.1"
V6 = "::1"


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def capture(name, fn, extra=""):
    path = os.path.join(OUT, name + ".pcap")
    p = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-U", "--immediate-mode", "-w", path] + extra.split(),
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    # wait for "listening on"
    p.stderr.readline()
    time.sleep(0.2)
    try:
        fn()
    finally:
        time.sleep(0.3)
        p.terminate()
        p.wait()


def server(fam, port, handler, backlog=8, rcvbuf=None):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((V4 if fam == socket.AF_INET else V6, port))
    s.listen(backlog)

    def run():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(c,), daemon=True).start()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return s


def echo_once(c):
    data = c.recv(4096)
    c.sendall(b"reply:" + data)
    c.close()


def drain(c):
    while c.recv(65536):
        pass
    c.close()


def basic():
    s = server(socket.AF_INET, 5001, echo_once)
    c = socket.create_connection((V4, 5001))
    c.sendall(b"hello, synack")
    c.recv(100)
    time.sleep(0.05)
    c.close()
    time.sleep(0.1)
    s.close()


def ipv6():
    s = server(socket.AF_INET6, 5002, echo_once)
    c = socket.create_connection((V6, 5002))
    c.sendall(b"hello over ipv6" * 10)
    c.recv(1000)
    c.close()
    time.sleep(0.1)
    s.close()


def refused():
    for port in (5999, 5998):
        try:
            socket.create_connection((V4, port), timeout=1)
        except OSError:
            pass
    try:
        socket.create_connection((V6, 5997), timeout=1)
    except OSError:
        pass


def halfclose():
    def h(c):
        got = b""
        while True:
            d = c.recv(4096)
            if not d:
                break
            got += d
        time.sleep(0.05)
        c.sendall(b"after your FIN: " + got)
        time.sleep(0.05)
        c.sendall(b"and more")
        c.close()
    s = server(socket.AF_INET, 5003, h)
    c = socket.create_connection((V4, 5003))
    c.sendall(b"request then FIN")
    c.shutdown(socket.SHUT_WR)
    while c.recv(4096):
        pass
    c.close()
    time.sleep(0.1)
    s.close()


def rst_abort():
    s = server(socket.AF_INET, 5004, lambda c: (c.recv(100), time.sleep(1), c.close()))
    c = socket.create_connection((V4, 5004))
    c.sendall(b"abort me")
    time.sleep(0.05)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    time.sleep(0.1)
    s.close()


def parallel():
    s = server(socket.AF_INET, 5005, drain)
    def client(i):
        c = socket.create_connection((V4, 5005))
        for _ in range(20):
            c.sendall(bytes([65 + i]) * 3000)
        c.close()
    ts = [threading.Thread(target=client, args=(i,)) for i in range(5)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    time.sleep(0.2)
    s.close()


def lossy():
    # Drop every 23rd data segment towards the receiver on ingress, after tcpdump saw it.
    sh("nft add table inet synack_loss")
    sh("nft 'add chain inet synack_loss in { type filter hook input priority 0; }'")
    sh("nft add rule inet synack_loss in tcp dport 5006 'meta length > 100' numgen inc mod 13 == 5 drop")
    try:
        s = server(socket.AF_INET, 5006, drain)
        c = socket.create_connection((V4, 5006))
        blob = bytes(range(256)) * 4096
        c.sendall(blob)
        c.close()
        time.sleep(0.5)
        s.close()
    finally:
        sh("nft delete table inet synack_loss")


def zerowin():
    def slow(c):
        time.sleep(0.6)
        while True:
            d = c.recv(2048)
            if not d:
                break
            time.sleep(0.002)
        c.close()
    s = server(socket.AF_INET, 5007, slow, rcvbuf=4096)
    c = socket.create_connection((V4, 5007))
    c.sendall(b"z" * 300000)
    c.close()
    time.sleep(1.0)
    s.close()


def keepalive():
    def idle(c):
        c.recv(100)
        time.sleep(3.2)
        c.close()
    s = server(socket.AF_INET, 5008, idle)
    c = socket.create_connection((V4, 5008))
    c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    c.sendall(b"ka")
    time.sleep(3.0)
    c.close()
    time.sleep(0.1)
    s.close()


def reuse():
    """The same client port twice: the second SYN meets the server's TIME-WAIT (new stream)."""
    s = server(socket.AF_INET, 5010, echo_once)
    for i in range(2):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        c.bind((V4, 40123))
        c.connect((V4, 5010))
        c.sendall(b"round %d" % i)
        c.recv(100)
        time.sleep(0.05)
        c.close()
        time.sleep(0.1)
    s.close()


def misc():
    """Not TCP: pings (IPv4, IPv6) and UDP datagrams to closed ports (ICMP unreachable)."""
    if shutil.which("ping"):
        subprocess.run(["ping", "-c", "2", "-i", "0.2", V4], stdout=subprocess.DEVNULL, check=False)
        subprocess.run(["ping", "-6", "-c", "2", "-i", "0.2", V6], stdout=subprocess.DEVNULL, check=False)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"hello", (V4, 9999))
    u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u6.sendto(b"hello6", (V6, 9998))
    time.sleep(0.1)


def bulk():
    """A large transfer for the reading-speed benchmark; size in MB from SYNACK_BULK_MB."""
    mb = int(os.environ.get("SYNACK_BULK_MB", "200"))
    s = server(socket.AF_INET, 5009, drain)
    c = socket.create_connection((V4, 5009))
    chunk = b"x" * 65536
    for _ in range(mb * 16):
        c.sendall(chunk)
    c.close()
    time.sleep(0.3)
    s.close()


SCENARIOS = dict(basic=basic, ipv6=ipv6, refused=refused, halfclose=halfclose,
                 rst_abort=rst_abort, parallel=parallel, lossy=lossy, zerowin=zerowin,
                 keepalive=keepalive, reuse=reuse, misc=misc, bulk=bulk)

if __name__ == "__main__":
    sh("ip link set lo up")
    sh("ip link set lo mtu 1500")
    # No segmentation offload: the capture shows wire-sized segments, as on a real link.
    subprocess.run("ip link set lo gso_max_size 1500 gso_max_segs 1", shell=True)
    subprocess.run("ethtool -K lo tso off gso off gro off >/dev/null 2>&1", shell=True)
    names = sys.argv[2:] or [n for n in SCENARIOS if n != "bulk"]
    for n in names:
        extra = ""
        capture(n, SCENARIOS[n], extra)
    print("ok", " ".join(names))

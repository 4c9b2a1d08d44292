"""Attack and load generators for the chaos tests (crates/synack-cli/tests/chaos.rs).

Runs inside the test's own network namespace, as root; sends only to the address given (the
synack side of the namespace's TUN device). Every mode prints one JSON object on stdout.

  legit DST PORT N PAR            N echo sessions, PAR at a time: successes and connect times
  inject DST PORT COUNT           one live echo connection, COUNT blind RST/SYN/data/OOO
                                  segments spoofed on its 4-tuple, then the connection must
                                  still echo
  malformed DST PORT COUNT        COUNT malformed IPv4/TCP packets
  silent DST PORT N IFACE         N handshakes completed from addresses nobody answers for
                                  (read off IFACE with a packet socket), then silence
  storm DST PORT N                N connections opened at once, each echoes one line
  bulk DST PORT SECS              sends to DST:PORT (discard) until an error; how it ended
"""

import json
import random
import resource
import select
import socket
import struct
import sys
import threading
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload=b"", window=65535, opts=b""):
    off = (20 + len(opts)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, window, 0, 0) + opts
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr) + len(payload))
    c = csum(pseudo + hdr + payload)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def ip_packet(src, dst, payload, proto=6, ttl=64, ident=None):
    ident = random.randrange(65536) if ident is None else ident
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def raw():
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    return s


SYN, RST, PSH_ACK, ACK = 0x02, 0x04, 0x18, 0x10
MSS_OPT = struct.pack("!BBH", 2, 4, 1460)


GREETING = b"Hello! Enter BYE to exit.\n"


def read_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        b = s.recv(256)
        if not b:
            raise EOFError("end of stream")
        buf += b
    return buf


def echo_session(dst, port, timeout, phase=None):
    t0 = time.time()
    s = socket.create_connection((dst, port), timeout=timeout)
    connect = time.time() - t0
    if phase is not None:
        phase[0] = "after connect"
    try:
        assert read_line(s) == GREETING
        s.sendall(b"ping\n")
        assert read_line(s) == b"Echo: ping\n"
        s.sendall(b"bye\n")
        read_line(s)
    finally:
        s.close()
    return connect


def legit(dst, port, n, par):
    times, failures, lock = [], [], threading.Lock()
    todo = list(range(n))

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                todo.pop()
            phase = ["connect"]
            try:
                t = echo_session(dst, port, 10, phase)
                with lock:
                    times.append(t)
            except Exception as e:  # noqa: BLE001 - any failure counts
                with lock:
                    failures.append("%s: %r" % (phase[0], e))

    ts = [threading.Thread(target=worker) for _ in range(par)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    times.sort()
    p = lambda q: times[min(len(times) - 1, int(q * (len(times) - 1) + 0.5))] * 1000 if times else None
    # A session that connected and then timed out lost a segment the retransmissions did not
    # recover in time: with a SYN cookie, the handshake's last ACK (the server speaks first,
    # so nothing of the client's carries that ACK again).
    after = sum(1 for f in failures if f.startswith("after connect"))
    return {"ok": len(times), "failed": len(failures), "failed_connect": len(failures) - after,
            "failed_after_connect": after, "p50_ms": p(0.5), "p99_ms": p(0.99),
            "errors": failures[:5]}


def inject(dst, port, count):
    s = socket.create_connection((dst, port), timeout=10)
    assert read_line(s) == GREETING
    src, sport = s.getsockname()
    r = raw()
    kinds = {"rst": 0, "syn": 0, "data": 0, "ooo": 0, "rst_ack": 0}
    for i in range(count):
        k = random.choice(list(kinds))
        seq, ack = random.getrandbits(32), random.getrandbits(32)
        if k == "rst":
            seg = tcp_segment(src, dst, sport, port, seq, 0, RST)
        elif k == "rst_ack":
            seg = tcp_segment(src, dst, sport, port, seq, ack, RST | ACK)
        elif k == "syn":
            seg = tcp_segment(src, dst, sport, port, seq, 0, SYN)
        elif k == "data":
            seg = tcp_segment(src, dst, sport, port, seq, ack, PSH_ACK, b"INJECTED\n")
        else:
            seg = tcp_segment(src, dst, sport, port, seq, ack, ACK, bytes(random.randrange(1, 1400)))
        kinds[k] += 1
        r.sendto(ip_packet(src, dst, seg), (dst, 0))
    # The real connection must be intact: a line echoed, nothing injected in between.
    s.sendall(b"still here\n")
    line = read_line(s)
    s.sendall(b"bye\n")
    rest = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            rest += b
    except socket.timeout:
        pass
    s.close()
    return {"sent": kinds, "echo": line.decode(errors="replace"), "rest": rest.decode(errors="replace")}


def malformed(dst, port, count):
    r = raw()
    src = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    src.connect((dst, 9))
    me = src.getsockname()[0]
    for i in range(count):
        k = i % 6
        body = bytes(random.getrandbits(8) for _ in range(random.randrange(0, 60)))
        if k == 0:  # truncated TCP header
            pkt = ip_packet(me, dst, body[:random.randrange(0, 20)])
        elif k == 1:  # data offset pointing past the end, bad options
            seg = bytearray(tcp_segment(me, dst, 40000 + i % 1000, port, random.getrandbits(32), 0, SYN,
                                        opts=bytes([2, 0, 3, 255])))
            seg[12] = 0xF0
            pkt = ip_packet(me, dst, bytes(seg))
        elif k == 2:  # random flags and garbage options with a valid checksum
            opts = body[:40]
            opts += b"\0" * ((4 - len(opts) % 4) % 4)
            seg = tcp_segment(me, dst, 40000 + i % 1000, port, random.getrandbits(32), random.getrandbits(32),
                              random.getrandbits(8), b"x" * random.randrange(0, 100), opts=opts)
            pkt = ip_packet(me, dst, seg)
        elif k == 3:  # bad TCP checksum
            seg = bytearray(tcp_segment(me, dst, 40000 + i % 1000, port, 1, 0, SYN))
            seg[16] ^= 0xFF
            pkt = ip_packet(me, dst, bytes(seg))
        elif k == 4:  # fragments that never complete
            hdr = bytearray(ip_packet(me, dst, body + b"\0" * 16)[:20])
            hdr[6] = 0x20 | random.randrange(0, 32)  # MF set, some offset
            pkt = bytes(hdr) + body + b"\0" * 16
        else:  # an unknown protocol and IP options garbage
            pkt = ip_packet(me, dst, body, proto=random.choice([0, 17, 41, 200, 253]))
        try:
            r.sendto(pkt, (dst, 0))
        except OSError:
            pass
    return {"sent": count}


def silent(dst, port, n, iface):
    # Each handshake comes from its own unassigned address: the SYN-ACK goes into the TUN
    # device's kernel side, which answers nothing for an address it does not own; we read it
    # off the interface and ACK it, then say nothing more.
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    sniff.bind((iface, 0))
    sniff.setblocking(False)
    r = raw()
    pending = {}
    for i in range(n):
        src = "%s.%d" % (dst.rsplit(".", 1)[0], 3 + i % 250)
        sport = 20000 + i // 250
        isn = random.getrandbits(32)
        pending[(src, sport)] = isn
        r.sendto(ip_packet(src, dst, tcp_segment(src, dst, sport, port, isn, 0, SYN, opts=MSS_OPT)), (dst, 0))
    done, end = 0, time.time() + 20
    while pending and time.time() < end:
        ready, _, _ = select.select([sniff], [], [], 0.2)
        if not ready:
            continue
        while True:
            try:
                pkt = sniff.recv(2048)
            except BlockingIOError:
                break
            if len(pkt) < 40 or pkt[9] != 6:
                continue
            ihl = (pkt[0] & 15) * 4
            to = socket.inet_ntoa(pkt[16:20])
            dport = struct.unpack("!H", pkt[ihl + 2:ihl + 4])[0]
            seq, ack = struct.unpack("!II", pkt[ihl + 4:ihl + 12])
            flags = pkt[ihl + 13]
            key = (to, dport)
            if key in pending and flags & 0x12 == 0x12:
                isn = pending.pop(key)
                if ack == (isn + 1) & 0xFFFFFFFF:
                    seg = tcp_segment(to, dst, dport, port, ack, (seq + 1) & 0xFFFFFFFF, ACK)
                    r.sendto(ip_packet(to, dst, seg), (dst, 0))
                    done += 1
    return {"handshakes": done, "unanswered": len(pending)}


def storm(dst, port, n):
    # One thread per connection, all started at once: a burst of n SYNs.
    t0 = time.time()
    out = legit(dst, port, n, n)
    out["secs"] = time.time() - t0
    return out


def bulk(dst, port, secs):
    s = socket.create_connection((dst, port), timeout=5)
    # Let the kernel give up on a peer that went away: 5 s of unacknowledged data.
    s.setsockopt(socket.IPPROTO_TCP, 18, 5000)  # TCP_USER_TIMEOUT
    print(json.dumps({"connected": True}), flush=True)
    chunk, sent, t0 = b"z" * 65536, 0, time.time()
    try:
        while time.time() - t0 < secs:
            sent += s.send(chunk)
        how = "still sending"
    except OSError as e:
        how = "%s: %s" % (type(e).__name__, e)
    return {"sent": sent, "ended": how, "after_s": time.time() - t0}


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    mode, args = sys.argv[1], sys.argv[2:]
    dst = args[0]
    port = int(args[1])
    if mode == "legit":
        out = legit(dst, port, int(args[2]), int(args[3]))
    elif mode == "inject":
        out = inject(dst, port, int(args[2]))
    elif mode == "malformed":
        out = malformed(dst, port, int(args[2]))
    elif mode == "silent":
        out = silent(dst, port, int(args[2]), args[3])
    elif mode == "storm":
        out = storm(dst, port, int(args[2]))
    elif mode == "bulk":
        out = bulk(dst, port, float(args[2]))
    else:
        raise SystemExit("unknown mode " + mode)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()

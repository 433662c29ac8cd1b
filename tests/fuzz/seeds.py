#!/usr/bin/python3
"""Write the seed corpora in corpus/<harness>/ (committed; run again only
to change them). Seeds are valid inputs of each kind plus a few near
misses, so that the fuzzer starts from the interesting paths."""
import hashlib
import os
import socket
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(harness, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


ARGS = [
    "trace\n-o\njson", "dwell\n-i\n1\n--lport\n80,443,8000-8100", "timeline\n-w\n-T",
    "timewait\n--once\n--all-netns", "timewait\n--netns\n/proc/self/ns/net\n--verify",
    "timewait\n--sockets\n--top\n5\n--warn-pct\n80", "retrans\n-c\n--resets\n-i\n2",
    "doctor", "run\n--report\nr.json\n--junit\nj.xml\n--max-retrans\n0\n--\ncurl\n-s",
    "run\n--fail-on-leak\n--max-lost\n3\nsh\n-c\ntrue", "export\n--listen\n[::1]:9466",
    "export\n--label-ports\n80,443\n--label-peers\n10.0.0.0/8,::1",
    "trace\n--laddr\n10.0.0.0/8,fd00::/64\n--raddr\n::1", "trace\n--pid\n1,2\n--follow\n--max-follow\n100",
    "trace\n--comm\ncurl\n-4", "trace\n-6\n--cgroup\n/sys/fs/cgroup", "trace\n-x4",
    "trace\n--ringbuf-kb\n4\n--wakeup-pct\n100\n--flush-ms\n2000\n--max-sockets\n64",
    "trace\n--timewait-map\n16\n--wakeup-per-event\n--no-accept-tracepoint", "-h", "--version",
    "trace\n-d", "bogus", "trace\n-d\n0.5\n-4\n-6",
]
for a in ARGS:
    put("cli_args", a)

LISTS = {
    0: ["80", "80,443,8000-8100", "1-65535", "0", "65536", "10-5", ",80", "80,,81",
        ",".join(str(p) for p in range(1, 66))],
    1: ["10.0.0.0/8", "10.1.2.3/8,fd00::/64,::1", "::ffff:1.2.3.4/120", "1.2.3.4/33",
        "::/0", "fe80::1%lo", "1.2.3.4/", "/8"],
    2: ["10.0.0.0/8,192.168.1.5,::1", "10.1.0.0/8", "fd00::/8", "0:0::1", "::/129",
        ",".join("10.0.0.%d" % i for i in range(16))],
    3: ["127.0.0.1:9466", "[::1]:9466", "[::1]", "0.0.0.0:0", "localhost:80", ":80",
        "[]:1", "1.2.3.4:65536"],
}
for sel, vals in LISTS.items():
    for v in vals:
        put("cli_lists", bytes([sel]) + v.encode())

HTTP = [
    b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text; version=1.0.0, text/plain;q=0.5\r\n\r\n",
    b"GET /healthz HTTP/1.0\r\n\r\n",
    b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
    b"GET / HTTP/2.0\r\n\r\n",
    b"GET /metrics HTTP/1.1\nHost: x\n\n",
    b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;q=0\r\n\r\n",
]
for h in HTTP:
    for lim in (8191, 64):
        put("httpreq", struct.pack(">H", lim) + h)


def event(typ, fam, old, new, owner, flags, kind=0, ca=0, arg=0, comm=b"curl",
          lport=40000, rport=80):
    if fam == socket.AF_INET:
        la = b"\0" * 10 + b"\xff\xff" + socket.inet_aton("127.0.0.1")
        ra = b"\0" * 10 + b"\xff\xff" + socket.inet_aton("10.0.0.2")
    else:
        la = socket.inet_pton(socket.AF_INET6, "::1")
        ra = socket.inet_pton(socket.AF_INET6, "fd00::2")
    rec = struct.pack("<QQQQIIBBBBBBHHBBi", 1001500000000, 0x1234, 1500000, 7, 4242,
                      4026531840, typ, fam, old, new, owner, flags, lport, rport, kind, ca, arg)
    rec += la + ra + comm.ljust(16, b"\0")
    assert len(rec) == 104, len(rec)
    return rec


EVENTS = [
    event(1, socket.AF_INET, 7, 2, 1, 1),            # CLOSE -> SYN_SENT, new
    event(1, socket.AF_INET6, 2, 1, 1, 0),           # SYN_SENT -> ESTABLISHED
    event(1, socket.AF_INET, 6, 7, 1, 0x40, kind=1),  # timewait socket gone
    event(1, socket.AF_INET, 1, 4, 3, 2),            # first sight
    event(2, socket.AF_INET, 1, 0, 1, 0x18, kind=2, ca=4, arg=-11),
    event(3, 0, 0, 0, 0, 0x20, arg=5),               # RST for no socket
    event(4, socket.AF_INET6, 1, 0, 5, 0, comm=b"a\x1b[31m\\\"\xff\x01z"),
    event(1, socket.AF_INET, 8, 7, 2, 0x80, comm=b"0123456789abcdef"),
]
for e in EVENTS:
    for opts in (0, 1, 7, 15):
        put("event", bytes([opts]) + e)
put("event", b"\x01" + b"\0" * 104)
put("event", b"\x01" + b"\xff" * 103)

#!/usr/bin/python3
"""TCP scenarios with a known transition sequence and their own clock.

Run inside a test network namespace (ip netns exec NS scenario.py NAME ...).
The server runs in this process, the client in a forked child, so the
tracer's pid attribution can be checked for both ends. Every timestamp is
CLOCK_MONOTONIC in ns, the clock bpf_ktime_get_ns() uses, so the test can
compare the tracer's dwell times with what the scenario measured.

Prints one JSON object: {"server": {...}, "client": {...}}.
"""
import ctypes
import errno
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time


def now():
    return time.monotonic_ns()


def set_comm(name):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(15, ctypes.c_char_p(name.encode()), 0, 0, 0)  # PR_SET_NAME


def fork_client(fn):
    """Run fn() in a child process; returns a callable that collects its dict."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            res = fn()
            res["pid"] = os.getpid()
            os.write(w, json.dumps(res).encode())
        except BaseException as exc:  # report, never hang the parent
            os.write(w, json.dumps({"error": repr(exc)}).encode())
        os._exit(0)
    os.close(w)

    def collect():
        data = b""
        while True:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            data += chunk
        os.close(r)
        os.waitpid(pid, 0)
        res = json.loads(data)
        if "error" in res:
            raise RuntimeError("client: " + res["error"])
        return res

    collect.pid = pid
    return collect


def connect_close(family, addr, port):
    """A client that connects and closes at once: its local port."""
    c = socket.socket(family, socket.SOCK_STREAM)
    c.connect((addr, port))
    lport = c.getsockname()[1]
    c.close()
    return {"lport": lport}


def listener(family, addr, backlog=16):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(os.environ.get("TD_PORT", "0"))))
    s.listen(backlog)
    return s


def wait_eof(sock, timeout=10):
    sock.settimeout(timeout)
    while sock.recv(4096):
        pass


def client_close(family, addr, hold, peer_delay):
    """Client closes first; the server closes peer_delay after seeing EOF."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]

    def client():
        c = socket.socket(family, socket.SOCK_STREAM)
        if os.environ.get("TD_SRC"):  # a chosen local address (address filters)
            c.bind((os.environ["TD_SRC"], 0))
        t0 = now()
        c.connect((addr, port))
        t1 = now()
        lport = c.getsockname()[1]
        time.sleep(hold)  # the scenario: the ESTABLISHED dwell the test measures
        t2 = now()
        c.close()
        return {"lport": lport, "t_connect": t0, "t_connected": t1, "t_close": t2,
                "connector": os.getpid()}

    if os.environ.get("TD_GRANDCHILD"):  # the client's own child connects (--follow)
        collect = fork_client(lambda: fork_client(client)())
    else:
        collect = fork_client(client)
    a, _ = srv.accept()
    t_acc = now()
    wait_eof(a)
    t_eof = now()
    time.sleep(peer_delay)  # the scenario: the CLOSE_WAIT dwell the test measures
    t_close = now()
    a.close()
    srv.close()
    cl = collect()
    return {"server": {"pid": os.getpid(), "port": port, "t_accepted": t_acc,
                       "t_eof": t_eof, "t_close": t_close},
            "client": cl}


def server_close(family, addr, hold, peer_delay):
    """Server closes first; the client closes peer_delay after EOF."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]

    def client():
        c = socket.socket(family, socket.SOCK_STREAM)
        t0 = now()
        c.connect((addr, port))
        t1 = now()
        lport = c.getsockname()[1]
        wait_eof(c)
        t_eof = now()
        time.sleep(peer_delay)  # the scenario: the CLOSE_WAIT dwell the test measures
        t2 = now()
        c.close()
        return {"lport": lport, "t_connect": t0, "t_connected": t1,
                "t_eof": t_eof, "t_close": t2}

    collect = fork_client(client)
    a, _ = srv.accept()
    t_acc = now()
    time.sleep(hold)  # the scenario: the ESTABLISHED dwell the test measures
    t_close = now()
    a.close()
    cl = collect()
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port, "t_accepted": t_acc,
                       "t_close": t_close},
            "client": cl}


def prefork(family, addr):
    """A pre-fork server: this process listens, a forked worker accepts
    and closes after the client's EOF. Only accept() attribution can name
    the worker: before it, the child has its listener's owner."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]

    def worker():
        a, peer = srv.accept()
        wait_eof(a)
        a.close()
        # its LAST_ACK ends when the client's ACK of our FIN arrives, which
        # close() does not wait for: the last transition comes before we say
        # we are done
        wait_tcp_states(family, [(port, peer[1])], "LAST_ACK", present=False)
        return {}

    def client():
        return connect_close(family, addr, port)

    wk = fork_client(worker)
    if os.environ.get("TD_BLOCKED"):
        # the worker sleeps in accept() before the test attaches its tracer
        # (a server older than tcpdwell): say so, wait for the go
        wait_for(lambda: in_syscall(wk.pid, ACCEPT_SYSCALLS), "worker blocked in accept()")
        print("blocked", flush=True)
        sys.stdin.readline()
    cl = fork_client(client)()
    w = wk()
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port, "worker": w["pid"]}, "client": cl}


ACCEPT_SYSCALLS = (43, 288)  # x86_64 accept, accept4


def in_syscall(pid, numbers):
    """Process pid is blocked in one of these syscalls (/proc/PID/syscall)."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            nr = f.read().split()[0]
    except (OSError, IndexError):
        return False
    return nr.isdigit() and int(nr) in numbers


def refused(family, addr):
    """connect() to a port nobody listens on: RST, SYN_SENT -> CLOSE."""
    probe = socket.socket(family, socket.SOCK_STREAM)
    probe.bind((addr, 0))
    port = probe.getsockname()[1]
    probe.close()  # bound, never listened: the port is free and closed

    def client():
        c = socket.socket(family, socket.SOCK_STREAM)
        t0 = now()
        try:
            c.connect((addr, port))
            raise RuntimeError("connect succeeded")
        except ConnectionRefusedError:
            pass
        t1 = now()
        c.close()
        return {"t_connect": t0, "t_refused": t1}

    cl = fork_client(client)()
    return {"server": {"port": port}, "client": cl}


def abort(family, addr, how):
    """Client aborts: close() with unread data, or SO_LINGER {1, 0}."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]
    r, w = os.pipe()

    def client():
        c = socket.socket(family, socket.SOCK_STREAM)
        c.connect((addr, port))
        lport = c.getsockname()[1]
        if how == "linger0":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            os.read(r, 1)  # the server's data is queued, unread
        t = now()
        c.close()
        return {"lport": lport, "t_close": t}

    collect = fork_client(client)
    a, _ = srv.accept()
    if how == "unread":
        a.sendall(b"x" * 100)
        lport = a.getpeername()[1]
        wait_for(lambda: any(r["lport"] == lport and r["rport"] == port and r["rxq"] >= 100
                             for r in tcp_table(family)), "the data queued at the client")
        os.write(w, b"g")
    a.settimeout(5)
    try:
        while a.recv(4096):
            pass
        got_reset = False
    except ConnectionResetError:
        got_reset = True
    a.close()
    srv.close()
    cl = collect()
    return {"server": {"pid": os.getpid(), "port": port, "got_reset": got_reset},
            "client": cl}


def syn_retrans(family, addr):
    """The first SYN is dropped by nftables: one SYN retransmit after ~1 s."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]
    fam = "ip" if family == socket.AF_INET else "ip6"
    undo = nft(["%s daddr %s tcp dport %d tcp flags & (syn|ack) == syn drop" % (fam, addr, port)])

    def client():
        c = socket.socket(family, socket.SOCK_STREAM)
        t0 = now()
        c.connect((addr, port))
        t1 = now()
        lport = c.getsockname()[1]
        c.close()
        return {"lport": lport, "t_connect": t0, "t_connected": t1}

    collect = fork_client(client)
    undo.wait_dropped(1, "the first SYN")  # its retransmit is due ~1 s after it
    undo()
    a, _ = srv.accept()
    wait_eof(a)
    a.close()
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port}, "client": collect()}


class nft:
    """Load a table of drop rules, each counting what it dropped; calling
    the object deletes the table. On the input hook the sender's
    transmission succeeded and it must retransmit; on the output hook the
    sender's own send fails (a failed attempt, err)."""

    def __init__(self, rules, hook="input", name=None):
        self.name = name or "tdrt%d_%s" % (os.getpid(), hook)
        rules = [r[:-len("drop")] + "counter drop" if r.endswith(" drop") else r
                 for r in rules]
        spec = ("table inet %s { chain c { type filter hook %s priority 0; %s }; }"
                % (self.name, hook, " ".join(r + ";" for r in rules)))
        subprocess.run(["nft", "-f", "-"], input=spec.encode(), check=True)

    def dropped(self):
        """Packets the rules have dropped so far."""
        out = subprocess.run(["nft", "-j", "list", "table", "inet", self.name],
                             check=True, capture_output=True, text=True).stdout
        return sum(e["counter"]["packets"]
                   for o in json.loads(out)["nftables"] if "rule" in o
                   for e in o["rule"]["expr"] if "counter" in e)

    def wait_dropped(self, n, what):
        """Until the rules have dropped n packets: what the scenario holds
        back has been sent."""
        wait_for(lambda: self.dropped() >= n, "%s: %d dropped" % (what, n))

    def __call__(self):
        subprocess.run(["nft", "delete", "table", "inet", self.name], check=True)


def drop_synack(family, addr, hold):
    """The server's SYN-ACKs are dropped for `hold` s: the client
    retransmits its SYN (and the server its SYN-ACK) until they pass."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]
    undo = nft(["tcp sport %d tcp flags & (syn|ack) == syn|ack drop" % port])

    def client():
        return connect_close(family, addr, port)

    collect = fork_client(client)
    time.sleep(hold)  # the scenario: how long the SYN-ACKs are lost
    undo()
    a, _ = srv.accept()
    wait_eof(a)
    a.close()
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port}, "client": collect()}


def drop_final_ack(family, addr):
    """The client's handshake ACK is dropped: the server, in SYN_RECV,
    retransmits its SYN-ACK after ~1 s, and that one is answered."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]
    undo = nft(["tcp dport %d tcp flags & (syn|ack|fin|rst|psh) == ack drop" % port])
    c = socket.socket(family, socket.SOCK_STREAM)
    c.connect((addr, port))  # ESTABLISHED at once: the SYN-ACK arrived
    lport = c.getsockname()[1]
    undo.wait_dropped(1, "the handshake's ACK")  # the SYN-ACK timer runs (1 s)
    undo()
    a, _ = srv.accept()  # returns once the retransmitted SYN-ACK is answered
    c.close()
    wait_eof(a)
    a.close()
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port},
            "client": {"pid": os.getpid(), "lport": lport}}


def drop_data(family, addr, count, hold, hook="input"):
    """The client writes `count` small segments (TCP_NODELAY) while its
    data segments are dropped for `hold` s: tail loss probes and timeouts
    retransmit them; all arrive once the rule is gone."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]
    c = socket.socket(family, socket.SOCK_STREAM)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.connect((addr, port))
    lport = c.getsockname()[1]
    a, _ = srv.accept()
    # pure ACKs are ~52-72 bytes; these segments carry 200 bytes of data
    rule = "tcp dport %d meta length > 200 drop" % port
    undo = nft([rule], "input" if hook == "fail" else hook)
    for _ in range(count):
        c.send(b"d" * 200)
        time.sleep(0.01)  # paced: one segment each, not a wait for something
    undo_out = None
    if hook == "fail":
        # sent and lost: now the retransmissions themselves fail (err)
        undo_out = nft([rule], "output")
    time.sleep(hold)  # the scenario: how long the loss lasts
    undo()
    if undo_out:
        undo_out()
    got = 0
    a.settimeout(20)
    while got < 200 * count:
        got += len(a.recv(65536))
    c.close()
    wait_eof(a)
    a.close()
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port, "received": got},
            "client": {"pid": os.getpid(), "lport": lport}}


def port_exhaustion(family, addr, tries):
    """connect() fails before any SYN: the namespace's ephemeral range is
    narrowed to 4 ports, 4 connections hold them, and `tries` more connect()
    calls each return EADDRNOTAVAIL (no free local port). Then a socket
    bound (SO_REUSEADDR) to a held connection's port connects to the same
    destination: its 4-tuple is taken (EADDRNOTAVAIL again). A connect() to
    a closed port is refused after its SYN: not a failure of this kind."""
    srv = listener(family, addr)  # its port from the range as it was
    port = srv.getsockname()[1]
    lo = 40000
    with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
        f.write("%d %d" % (lo, lo + 3))
    held = [socket.create_connection((addr, port)) for _ in range(4)]
    no_port = 0
    for _ in range(tries):
        c = socket.socket(family, socket.SOCK_STREAM)
        try:
            c.connect((addr, port))
        except OSError as e:
            if e.errno != errno.EADDRNOTAVAIL:
                raise
            no_port += 1
        c.close()
    a = socket.socket(family, socket.SOCK_STREAM)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    a.bind((addr, 41000))
    a.connect((addr, port))
    b = socket.socket(family, socket.SOCK_STREAM)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    b.bind((addr, 41000))
    in_use = 0
    try:
        b.connect((addr, port))
    except OSError as e:
        if e.errno != errno.EADDRNOTAVAIL:
            raise
        in_use = 1
    b.close()
    r = socket.socket(family, socket.SOCK_STREAM)
    refused_ok = r.connect_ex((addr, 1)) == errno.ECONNREFUSED
    r.close()
    for c in held + [a]:
        c.close()
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port},
            "client": {"pid": os.getpid(), "no_port": no_port, "in_use": in_use,
                       "refused": refused_ok, "range": [lo, lo + 3]}}


def churn(family, addr, count):
    """count short connections, client closes first (bulk traffic)."""
    # room for all of them in the accept queue: the client runs ahead of
    # the accept loop, and with a full queue the kernel drops a handshake's
    # last ACK; the client's RST then kills the request, and the accept
    # loop waited forever for it (seen in a 5.10 guest)
    srv = listener(family, addr, backlog=count)
    port = srv.getsockname()[1]

    def client():
        for _ in range(count):
            c = socket.socket(family, socket.SOCK_STREAM)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.connect((addr, port))
            c.close()
        return {}

    collect = fork_client(client)
    for _ in range(count):
        a, _ = srv.accept()
        a.close()
    cl = collect()
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port}, "client": cl}


def simultaneous_close(family, addr):
    """Both ends send FIN while the other's is held back by nftables, so the
    FINs cross: one end at least goes FIN_WAIT1 -> CLOSING -> TIME_WAIT."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]
    c = socket.socket(family, socket.SOCK_STREAM)
    c.connect((addr, port))
    a, _ = srv.accept()
    undo = nft(["tcp dport %d drop" % port, "tcp sport %d drop" % port], "output", "tdsim")
    t0 = now()
    c.shutdown(socket.SHUT_WR)
    a.shutdown(socket.SHUT_WR)
    undo.wait_dropped(2, "both FINs")
    undo()
    wait_eof(c)
    wait_eof(a)
    lport = c.getsockname()[1]
    # both retransmitted FINs and their ACKs have crossed
    wait_tcp_states(family, [(lport, port), (port, lport)], "TIME_WAIT")
    c.close()
    a.close()
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port, "t_shutdown": t0},
            "client": {"pid": os.getpid(), "lport": lport}}


def shutdown_then_close(family, addr, hold, peer_delay):
    """Client shutdown(WR): a real FIN_WAIT2 for `hold` s, then close():
    the orphan moves into a timewait socket; the server closes later."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]

    def client():
        c = socket.socket(family, socket.SOCK_STREAM)
        c.connect((addr, port))
        lport = c.getsockname()[1]
        t0 = now()
        c.shutdown(socket.SHUT_WR)
        time.sleep(hold)  # the scenario: the FIN_WAIT2 dwell the test measures
        t1 = now()
        c.close()
        return {"lport": lport, "t_shutdown": t0, "t_close": t1}

    collect = fork_client(client)
    a, _ = srv.accept()
    wait_eof(a)
    cl = collect()
    time.sleep(peer_delay)  # the scenario: the FIN_WAIT2(tw) dwell the test measures
    t_close = now()
    a.close()
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port, "t_close": t_close}, "client": cl}


def orphan_expire(family, addr, wait):
    """Client shuts down, and closes once its FIN is acked (a close() in
    FIN_WAIT1 may leave a full FIN_WAIT2 socket, not an orphan: see
    orphan()); the server sends its FIN (TD_ABORT: a RST) only `wait` s later. Past tcp_fin_timeout the
    orphan has expired in FIN_WAIT2(tw) by then; before it, the FIN
    switches it to TIME_WAIT."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]

    def client():
        c = socket.socket(family, socket.SOCK_STREAM)
        c.connect((addr, port))
        lport = c.getsockname()[1]
        shut_down_acked(family, [c], [(lport, port)])
        t = now()
        c.close()
        return {"lport": lport, "t_close": t}

    collect = fork_client(client)
    a, _ = srv.accept()
    wait_eof(a)
    cl = collect()
    time.sleep(wait)  # the scenario: the FIN comes this late (past fin_timeout: none is left)
    t_close = now()
    if os.environ.get("TD_ABORT"):
        abort_close(a)  # a RST, never a FIN
    else:
        a.close()  # our FIN: past fin_timeout it meets no socket (RST)
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port, "t_close": t_close}, "client": cl}


def one_connection(family, addr, port, lport=0):
    """A connected client socket, from lport (0: any) to port."""
    c = socket.socket(family, socket.SOCK_STREAM)
    # a bound port can be taken over from a timewait socket only if both
    # sockets set SO_REUSEADDR
    c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if lport:
        c.bind((addr, lport))
    c.connect((addr, port))
    return c


def tw_reuse(family, addr, wait):
    """Client TIME_WAIT, then connect() from the same port after `wait` s:
    tcp_tw_reuse hands the 4-tuple to the new connection. A negative wait:
    at least -wait s, then until a line on stdin (the test's go)."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]
    c = one_connection(family, addr, port)
    lport = c.getsockname()[1]
    a, _ = srv.accept()
    t_close = now()
    c.close()
    wait_eof(a)
    a.close()
    t_tw = now()
    time.sleep(abs(wait))  # the scenario: the TIME_WAIT's age when it is reused
    if wait < 0:
        sys.stdin.readline()
    c2 = one_connection(family, addr, port, lport)
    t_reuse = now()
    a2, _ = srv.accept()
    c2.close()
    wait_eof(a2)
    a2.close()
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port},
            "client": {"pid": os.getpid(), "lport": lport, "t_close": t_close, "t_tw": t_tw,
                       "t_reuse": t_reuse}}


def syn_recycle(family, addr):
    """Server closes first (server-side TIME_WAIT); the client connects
    again from the same port: the SYN recycles the server's timewait."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]
    c = one_connection(family, addr, port)
    lport = c.getsockname()[1]
    a, _ = srv.accept()
    a.close()
    wait_eof(c)
    c.close()
    # the client's LAST_ACK is acked: only the server's TIME_WAIT is left
    wait_tcp_states(family, [(lport, port)], "TIME_WAIT", present=False)
    wait_tcp_states(family, [(port, lport)], "TIME_WAIT", timewait=True)
    t_tw = now()
    c2 = one_connection(family, addr, port, lport)
    t_new = now()
    a2, _ = srv.accept()
    c2.close()
    wait_eof(a2)
    a2.close()
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port, "t_tw": t_tw, "t_new": t_new},
            "client": {"pid": os.getpid(), "lport": lport}}


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def inject_ack(addr, sport, dport):
    """An out-of-window ACK from addr:sport to addr:dport (raw IPv4)."""
    src = dst = socket.inet_aton(addr)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, 12345, 67890, 5 << 4, 0x10, 65535, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(hdr))
    hdr = hdr[:16] + struct.pack("!H", checksum(pseudo + hdr)) + hdr[18:]
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    raw.sendto(hdr, (addr, 0))
    raw.close()


def rst_kill(family, addr):
    """Client TIME_WAIT; an out-of-window ACK makes it answer with an ACK,
    the peer (no socket any more) answers that with a RST whose sequence is
    exactly in window: TIME_WAIT assassination (tcp_rfc1337=0)."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]
    c = one_connection(family, addr, port)
    lport = c.getsockname()[1]
    a, _ = srv.accept()
    c.close()
    wait_eof(a)
    a.close()
    srv.close()  # nobody on port any more: the tw's ACK meets a RST
    wait_tcp_states(family, [(lport, port)], "TIME_WAIT", timewait=True)
    t = now()
    inject_ack(addr, port, lport)
    wait_tcp_states(family, [(lport, port)], "TIME_WAIT", present=False)  # assassinated
    return {"server": {"pid": os.getpid(), "port": port},
            "client": {"pid": os.getpid(), "lport": lport, "t_inject": t}}


def client_closes_first(srv, c):
    """Accept c's connection on srv, close c first (its end goes to
    TIME_WAIT), then the server's end once the FIN is read."""
    a, _ = srv.accept()
    c.close()
    wait_eof(a)
    a.close()


def many_client_close(family, addr, count):
    """count connections, the client closing first each time (count
    client-side timewait sockets, or overflows)."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]
    lports = []
    for _ in range(count):
        c = one_connection(family, addr, port)
        lports.append(c.getsockname()[1])
        client_closes_first(srv, c)
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port},
            "client": {"pid": os.getpid(), "lports": lports}}


def fill_ports(family, addr, failures):
    """As many_client_close, until connect() has found no free local port
    `failures` times (EADDRNOTAVAIL): the namespace's ephemeral range is
    then used up by this destination's TIME_WAITs."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]
    made = failed = 0
    while failed < failures:
        try:
            c = one_connection(family, addr, port)
        except OSError as e:
            if e.errno != errno.EADDRNOTAVAIL:
                raise
            failed += 1
            continue
        made += 1
        client_closes_first(srv, c)
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port},
            "client": {"pid": os.getpid(), "made": made, "failed": failed}}


TCP_STATES = {"FIN_WAIT2": "05", "TIME_WAIT": "06", "LAST_ACK": "09"}


def _proc_addr(h):
    """An address as /proc/net/tcp{,6} prints it: 32-bit words in host order."""
    raw = b"".join(struct.pack("<I", int(h[i:i + 8], 16)) for i in range(0, len(h), 8))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def tcp_table(family):
    """This namespace's TCP sockets as /proc/net/tcp{,6} lists them: dicts
    of laddr, lport, raddr, rport, st (hex state; a timewait socket shows
    its substate), tw (a timewait socket: timer type 3) and rxq."""
    path = "/proc/net/tcp6" if family == socket.AF_INET6 else "/proc/net/tcp"
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            fl = line.split()
            (la, lp), (ra, rp) = (x.rsplit(":", 1) for x in fl[1:3])
            rows.append({"laddr": _proc_addr(la), "lport": int(lp, 16), "raddr": _proc_addr(ra),
                         "rport": int(rp, 16), "st": fl[3], "tw": fl[5].startswith("03:"),
                         "rxq": int(fl[4].split(":")[1], 16)})
    return rows


def wait_for(cond, what, timeout=30):
    """Until cond() is true: a readiness wait, bounded only against a hang.
    `what` names it, or is a function that describes what was seen."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError("%s: not within %d s" % (what() if callable(what) else what,
                                                        timeout))
        time.sleep(0.01)  # a poll interval, not a wait for something


def wait_tcp_states(family, tuples, state, present=True, timewait=False, timeout=30):
    """Until every socket on one of the tuples, (lport, rport) or (laddr,
    lport, raddr, rport), is in `state` (present) or none is left (not
    present), as /proc/net/tcp{,6} lists them (timewait sockets with their
    substate; timewait: only those, by their timer, type 3)."""
    want = {tuple(t) for t in tuples}
    by_ports = all(len(t) == 2 for t in want)
    wanted = TCP_STATES[state] + ("tw" if timewait else "")
    seen = {}

    def reached():
        seen.clear()
        for row in tcp_table(family):
            t = ((row["lport"], row["rport"]) if by_ports else
                 (row["laddr"], row["lport"], row["raddr"], row["rport"]))
            if t in want:
                seen.setdefault(t, set()).add(row["st"] + ("tw" if row["tw"] else ""))
        if present:
            return all(seen.get(t) in ({wanted}, {wanted + "tw"}) for t in want)
        return not seen
    wait_for(reached, lambda: "sockets not %s %s: %s" % ("in" if present else "out of",
                                                          state, seen), timeout)


def shut_down_acked(family, socks, tuples):
    """shutdown(SHUT_WR) on each socket, then until each FIN is acked: the
    sockets (on tuples, (lport, rport)) are in a real FIN_WAIT2."""
    for c in socks:
        c.shutdown(socket.SHUT_WR)
    wait_tcp_states(family, tuples, "FIN_WAIT2")


def orphan(conns, lports, port, family):
    """The clients shut down their side and, once their FIN is acked (a
    real FIN_WAIT2), close(): each moves into a timewait socket in
    substate FIN_WAIT2 within close() itself. (A close() in FIN_WAIT1
    whose ACK comes while close() still holds the socket leaves a full
    socket in FIN_WAIT2 instead, on a keepalive timer.)"""
    tuples = [(lp, port) for lp in lports]
    shut_down_acked(family, [c for c, _ in conns], tuples)
    for c, _ in conns:
        c.close()
    wait_tcp_states(family, tuples, "FIN_WAIT2", timewait=True)


def abort_close(sock):
    """close() with SO_LINGER {1, 0}: a RST, no timewait socket."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def tw_reasons(family, addr, n, reuse_wait):
    """n timewait sockets ended each way, each phase with a server port of
    its own (no 4-tuple twice); returns, per expected end, the 4-tuples
    [lport, rport] as the timewait socket sees them. Needs tcp_tw_reuse=1
    and tcp_fin_timeout=1 in the namespace; reuse_wait: how old tw_reuse
    wants a TIME_WAIT to be.
      reused (connect): client TIME_WAITs, connect() again from each port;
      reused (SYN):     server TIME_WAITs, the client's new SYN recycles them;
      killed:           orphaned FIN_WAIT2(tw) sockets that get data: they
                        answer with a RST and die (TCP_TW_RST);
      expired:          orphaned FIN_WAIT2(tw) sockets, at tcp_fin_timeout;
      reset (IPv4):     client TIME_WAITs whose server is gone: an
                        out-of-window ACK, their answer, the RST back."""
    out = {"reused": [], "reset": [], "killed": [], "expired": []}
    keep = []

    def phase():
        """A server of the phase's own; n connections to it: the server,
        its port, [(client, accepted)], the clients' ports."""
        srv = listener(family, addr)
        port = srv.getsockname()[1]
        conns = []
        for _ in range(n):
            c = one_connection(family, addr, port)
            conns.append((c, srv.accept()[0]))
        return srv, port, conns, [c.getsockname()[1] for c, _ in conns]

    def client_first(conns, lports, port):
        """The clients close first, then their servers: client TIME_WAITs."""
        for c, a in conns:
            c.close()
            wait_eof(a)
            a.close()
        wait_tcp_states(family, [(lp, port) for lp in lports], "TIME_WAIT")

    srv, port, conns, lports = phase()  # reused by connect()
    client_first(conns, lports, port)
    time.sleep(reuse_wait)  # tw_reuse's own rule: the TIME_WAIT must be this old
    for lp in lports:
        keep += [one_connection(family, addr, port, lp), srv.accept()[0]]
    out["reused"] += [[lp, port] for lp in lports]
    keep.append(srv)

    srv, port, conns, lports = phase()  # reused by a SYN: the server closes first
    for c, a in conns:
        a.close()
        wait_eof(c)
        c.close()
    wait_tcp_states(family, [(port, lp) for lp in lports], "TIME_WAIT")
    for lp in lports:
        keep += [one_connection(family, addr, port, lp), srv.accept()[0]]
    out["reused"] += [[port, lp] for lp in lports]
    keep.append(srv)

    srv, port, conns, lports = phase()  # killed: orphans that get data
    orphan(conns, lports, port, family)
    for _, a in conns:
        a.send(b"late")
    wait_tcp_states(family, [(lp, port) for lp in lports], "FIN_WAIT2", present=False)
    keep += [a for _, a in conns] + [srv]
    out["killed"] += [[lp, port] for lp in lports]

    srv, port, conns, lports = phase()  # expired: orphans nobody answers
    orphan(conns, lports, port, family)
    wait_tcp_states(family, [(lp, port) for lp in lports], "FIN_WAIT2",
                    present=False)  # until fin_timeout
    keep += [a for _, a in conns] + [srv]
    out["expired"] += [[lp, port] for lp in lports]

    if family == socket.AF_INET:  # reset: the server goes, then an ACK each
        srv, port, conns, lports = phase()
        client_first(conns, lports, port)
        srv.close()
        for lp in lports:
            inject_ack(addr, port, lp)
        wait_tcp_states(family, [(lp, port) for lp in lports], "TIME_WAIT", present=False)
        out["reset"] += [[lp, port] for lp in lports]
    for s in keep:
        abort_close(s)
    return {"server": {"pid": os.getpid()}, "client": {"pid": os.getpid()}, "ends": out}


def leak(family, addr):
    """A server that never closes the connection its client closed: it is
    left in CLOSE_WAIT and the client's end in FIN_WAIT2 until the process
    exits (main() leaves with os._exit: no interpreter cleanup closes the
    sockets first)."""
    srv = listener(family, addr)
    port = srv.getsockname()[1]
    c = socket.socket(family, socket.SOCK_STREAM)
    c.connect((addr, port))
    lport = c.getsockname()[1]
    a, _ = srv.accept()
    c.close()
    wait_eof(a)
    wait_tcp_states(family, [(lport, port)], "FIN_WAIT2")  # the client's FIN is acked
    return {"server": {"pid": os.getpid(), "port": port, "kept": [srv, a]},
            "client": {"pid": os.getpid(), "lport": lport}}


def fork_storm(count):
    """count children, one after the other, each exiting at once (fills
    --follow's pid map: entries stay after exit)."""
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    return {"server": {"pid": os.getpid()}, "client": {}}


def census(n, dests, orphans, established, v6):
    """A timewait population with a known shape, held until stdin closes:
    n client-side TIME_WAITs spread over `dests` servers 127.0.0.2.., `v6`
    more to [::1], `orphans` FIN_WAIT2-substate ones (the client closed,
    its peer never does) to a server of their own, and `established`
    open connections to the first server (ports in use)."""
    port = int(os.environ.get("TD_PORT", "7000"))

    def srv(fam, a):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a, port))
        s.listen(4096)
        return s

    def tup(c):
        l, r = c.getsockname(), c.getpeername()
        return [l[0], l[1], r[0], r[1]]

    servers = [srv(socket.AF_INET, "127.0.0.%d" % (d + 2)) for d in range(dests)]
    tw, held = [], []

    def closing_first(fam, s):
        c = socket.socket(fam, socket.SOCK_STREAM)
        c.connect(s.getsockname()[:2])
        a, _ = s.accept()
        t = tup(c)
        c.close()
        wait_eof(a)
        a.close()
        return t

    for i in range(n):
        tw.append(closing_first(socket.AF_INET, servers[i % dests]))
    if v6:
        s6 = srv(socket.AF_INET6, "::1")
        for _ in range(v6):
            tw.append(closing_first(socket.AF_INET6, s6))
    fw2 = []
    if orphans:
        so = srv(socket.AF_INET, "127.0.0.%d" % (dests + 2))
        for _ in range(orphans):
            c = socket.create_connection(so.getsockname())
            a, _ = so.accept()
            fw2.append(tup(c))
            c.close()
            held.append(a)  # never closed: the client's socket stays orphaned
    est = []
    for _ in range(established):
        c = socket.create_connection(servers[0].getsockname())
        a, _ = servers[0].accept()
        est.append(tup(c))
        held += [c, a]
    # the orphans' FIN is acked: they are in timewait now
    wait_tcp_states(socket.AF_INET, fw2, "FIN_WAIT2", timewait=True)
    print(json.dumps({"timewait": tw, "fin_wait2": fw2, "established": est,
                      "port": port}), flush=True)
    sys.stdin.read()
    return None


def old_server(family, addr, n):
    """A server started before the tracer: n listeners on one port
    (SO_REUSEPORT), announced on stdout; then one stdin line per step:
    "connect" (a forked client, comm tdclient, connects and closes; the
    server accepts and closes), "close" (the first listener left closes),
    "quit". Each step answers one JSON line once done."""
    socks = []
    for _ in range(n):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind((addr, socks[0].getsockname()[1] if socks else 0))
        s.listen(16)
        socks.append(s)
    port = socks[0].getsockname()[1]
    # a connection held from the start: a child (comm tdholder) holds the
    # client end until "drop", this process the accepted one
    up_r, up_w = os.pipe()
    go_r, go_w = os.pipe()
    holder = os.fork()
    if holder == 0:
        set_comm("tdholder")
        for s in socks:  # the listeners are the server's alone ("close")
            s.close()
        c = socket.create_connection((addr, port))
        os.write(up_w, str(c.getsockname()[1]).encode())
        os.read(go_r, 1)
        c.close()
        os._exit(0)
    held_lport = int(os.read(up_r, 16))
    ready = select.select(socks, [], [], 10)[0]
    held, _ = ready[0].accept()
    print(json.dumps({"pid": os.getpid(), "port": port, "holder": holder,
                      "held_lport": held_lport}), flush=True)
    for line in sys.stdin:
        step = line.strip()
        if step == "drop":
            os.write(go_w, b"x")
            os.waitpid(holder, 0)
            wait_eof(held)
            held.close()
            print(json.dumps({"dropped": held_lport}), flush=True)
        elif step == "connect":
            def client():
                set_comm("tdclient")
                return connect_close(family, addr, port)
            collect = fork_client(client)
            res = collect()
            # whichever listener the kernel chose holds the child
            ready = select.select(socks, [], [], 10)[0]
            a, _ = ready[0].accept()
            a.close()
            print(json.dumps({"client": res}), flush=True)
        elif step == "close":
            socks.pop(0).close()
            print(json.dumps({"left": len(socks)}), flush=True)
        else:
            break
    if held.fileno() >= 0:  # never dropped: the holder goes now
        os.write(go_w, b"x")
        os.waitpid(holder, 0)
        held.close()
    for s in socks:
        s.close()
    return {"pid": os.getpid(), "port": port}


def main():
    name = sys.argv[1]
    family = socket.AF_INET6 if "-6" in sys.argv else socket.AF_INET
    addr = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    addr = os.environ.get("TD_ADDR", addr)  # the server's address
    args = [a for a in sys.argv[2:] if a != "-6"]
    comm = os.environ.get("TD_COMM")
    if comm:
        set_comm(comm)
    if os.environ.get("TD_GATE"):  # wait until the test has its tracer on our pid
        sys.stdin.readline()
    if name == "client_close":
        res = client_close(family, addr, float(args[0]), float(args[1]))
    elif name == "server_close":
        res = server_close(family, addr, float(args[0]), float(args[1]))
    elif name == "refused":
        res = refused(family, addr)
    elif name == "prefork":
        res = prefork(family, addr)
    elif name in ("unread", "linger0"):
        res = abort(family, addr, name)
    elif name == "syn_retrans":
        res = syn_retrans(family, addr)
    elif name == "fill_ports":
        res = fill_ports(family, addr, int(args[0]))
    elif name == "port_exhaustion":
        res = port_exhaustion(family, addr, int(args[0]))
    elif name == "old_server":
        res = old_server(family, addr, int(args[0]))
    elif name == "churn":
        res = churn(family, addr, int(args[0]))
    elif name == "simultaneous":
        res = simultaneous_close(family, addr)
    elif name == "shutdown_then_close":
        res = shutdown_then_close(family, addr, float(args[0]), float(args[1]))
    elif name == "orphan_expire":
        res = orphan_expire(family, addr, float(args[0]))
    elif name == "tw_reuse":
        res = tw_reuse(family, addr, float(args[0]))
    elif name == "syn_recycle":
        res = syn_recycle(family, addr)
    elif name == "rst_kill":
        res = rst_kill(family, addr)
    elif name == "many_client_close":
        res = many_client_close(family, addr, int(args[0]))
    elif name == "drop_synack":
        res = drop_synack(family, addr, float(args[0]))
    elif name == "drop_final_ack":
        res = drop_final_ack(family, addr)
    elif name == "drop_data":
        res = drop_data(family, addr, int(args[0]), float(args[1]), *args[2:3])
    elif name == "tw_reasons":
        res = tw_reasons(family, addr, int(args[0]), float(args[1]))
    elif name == "leak":
        res = leak(family, addr)
    elif name == "fork_storm":
        res = fork_storm(int(args[0]))
    elif name == "census":
        census(*[int(a) for a in args[:5]])
        return
    else:
        sys.exit("unknown scenario " + name)
    res["family"] = 6 if family == socket.AF_INET6 else 4
    res["addr"] = addr
    kept = res.get("server", {}).pop("kept", None)
    print(json.dumps(res), flush=True)
    if kept:
        os._exit(0)  # leave with the sockets open: only the exit closes them


if __name__ == "__main__":
    main()

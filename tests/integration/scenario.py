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
import json
import os
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

    return collect


def listener(family, addr):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(os.environ.get("TD_PORT", "0"))))
    s.listen(16)
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
        t0 = now()
        c.connect((addr, port))
        t1 = now()
        lport = c.getsockname()[1]
        time.sleep(hold)
        t2 = now()
        c.close()
        return {"lport": lport, "t_connect": t0, "t_connected": t1, "t_close": t2}

    collect = fork_client(client)
    a, _ = srv.accept()
    t_acc = now()
    wait_eof(a)
    t_eof = now()
    time.sleep(peer_delay)
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
        time.sleep(peer_delay)
        t2 = now()
        c.close()
        return {"lport": lport, "t_connect": t0, "t_connected": t1,
                "t_eof": t_eof, "t_close": t2}

    collect = fork_client(client)
    a, _ = srv.accept()
    t_acc = now()
    time.sleep(hold)
    t_close = now()
    a.close()
    cl = collect()
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port, "t_accepted": t_acc,
                       "t_close": t_close},
            "client": cl}


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
        time.sleep(0.05)
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
    nft = ("table inet tdtest { chain in { type filter hook input priority 0; "
           "%s daddr %s tcp dport %d tcp flags & (syn|ack) == syn drop; }; }"
           % (fam, addr, port))
    subprocess.run(["nft", "-f", "-"], input=nft.encode(), check=True)

    def client():
        c = socket.socket(family, socket.SOCK_STREAM)
        t0 = now()
        c.connect((addr, port))
        t1 = now()
        lport = c.getsockname()[1]
        c.close()
        return {"lport": lport, "t_connect": t0, "t_connected": t1}

    collect = fork_client(client)
    time.sleep(0.4)  # the first SYN has been dropped by now; the retransmit is due at ~1 s
    subprocess.run(["nft", "delete", "table", "inet", "tdtest"], check=True)
    a, _ = srv.accept()
    wait_eof(a)
    a.close()
    srv.close()
    return {"server": {"pid": os.getpid(), "port": port}, "client": collect()}


def churn(family, addr, count):
    """count short connections, client closes first (bulk traffic)."""
    srv = listener(family, addr)
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


def main():
    name = sys.argv[1]
    family = socket.AF_INET6 if "-6" in sys.argv else socket.AF_INET
    addr = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    args = [a for a in sys.argv[2:] if a != "-6"]
    comm = os.environ.get("TD_COMM")
    if comm:
        set_comm(comm)
    if name == "client_close":
        res = client_close(family, addr, float(args[0]), float(args[1]))
    elif name == "server_close":
        res = server_close(family, addr, float(args[0]), float(args[1]))
    elif name == "refused":
        res = refused(family, addr)
    elif name in ("unread", "linger0"):
        res = abort(family, addr, name)
    elif name == "syn_retrans":
        res = syn_retrans(family, addr)
    elif name == "churn":
        res = churn(family, addr, int(args[0]))
    else:
        sys.exit("unknown scenario " + name)
    res["family"] = 6 if family == socket.AF_INET6 else 4
    res["addr"] = addr
    print(json.dumps(res))


if __name__ == "__main__":
    main()

"""Faults: the tracer's maps full, the tracer killed, two tracers at once,
the reader stopped. (A ring buffer too small under churn:
test_filters_loss.py::test_ringbuf_too_small_counts_drops; SIGINT, SIGTERM
and SIGHUP detaching: test_cli.py.)"""
import os
import re
import signal
import socket
import sys
import time
from collections import Counter

import pytest

from conftest import PYTHON, READY_S, REPO, WRAP, wait_until

sys.path.insert(0, os.path.join(REPO, "scripts"))
from bpfprocs import link_ids, links_left, map_memlock, prog_ids, still_loaded  # noqa: E402

# N connections opened at once to a listener that accepts none of them (a
# SYN flood that completes: every handshake makes a client socket and a
# server child, so 2N sockets are live together), then all reset by the
# clients (linger 0): every socket ends, none in TIME_WAIT.
FLOOD = r"""
import resource, select, socket, struct, sys
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (4 * n + 64,) * 2)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(4 * n)
port = srv.getsockname()[1]
cs = []
for _ in range(n):
    c = socket.socket()
    c.setblocking(False)
    c.connect_ex(("127.0.0.1", port))
    cs.append(c)
for c in cs:  # every handshake done
    assert select.select([], [c], [], 10)[1], "connect timed out"
    assert c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
for c in cs:
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
srv.close()
print(port)
"""


def flood(ns, n):
    p = ns.run(PYTHON, "-c", FLOOD, str(n), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return int(p.stdout)


def connections(t, port):
    """The timeline records of the flood: both ends of each connection."""
    return [c for c in t.records() if c["type"] == "connection" and port in (c["lport"], c["rport"])
            and c["rport"] != 0]


def test_socket_map_full_under_syn_flood(netns, tracer):
    """A 64-entry socket map against 800 live sockets: the LRU evicts, the
    evictions are counted and reported, the exit code says events were
    lost, and the connections whose story has a gap are marked incomplete.
    A second tracer with the default map, watching the same flood, has no
    gap: the difference is the map, not the traffic."""
    n = 400
    ns = ["--netns", "/run/netns/" + netns.name]
    small = tracer("timeline", "--max-sockets", "64", *ns)
    full = tracer("timeline", *ns)
    port = flood(netns, n)
    small.stop()
    full.stop()

    ok = full.loss()
    assert full.returncode == 0, full.stderr
    assert ok["evictions"] == 0 and ok["lost"] == 0
    ref = connections(full, port)
    ends = Counter((c["lport"], c["rport"]) for c in ref)
    assert len([e for e in ends if e[1] == port]) == n  # clients
    assert len([e for e in ends if e[0] == port]) == n  # server children
    # Rarely (1 run in ~10 on the host, both tracers running; twice in one
    # run in the TCG guest) a tuple gets a second, incomplete record closed
    # by a local reset (see the branch's closing note): a few at most, and
    # incomplete, never a second "complete" story.
    ref_incomplete = [c for c in ref if not c["complete"]]
    extra = len(ref) - 2 * n
    assert extra <= n // 100 and len(ref_incomplete) <= max(extra, 1), ref_incomplete

    loss = small.loss()
    assert small.returncode == 4, (small.returncode, small.stderr)
    assert loss["evictions"] > 0 and loss["lost"] >= loss["evictions"]
    assert "socket-map evictions" in small.stderr  # the summary says which loss
    cs = connections(small, port)
    # the userspace table has --max-sockets entries too: a connection it
    # had no room for is counted, not shown
    kept = re.search(r"(\d+) connections not kept", small.stderr)
    assert len(cs) + (int(kept.group(1)) if kept else 0) >= 2 * n, (len(cs), small.stderr)
    # those the kernel forgot mid-life say so (their stories all arrive,
    # a dwell is unknown): marked incomplete
    incomplete = [c for c in cs if not c["complete"]]
    assert len(incomplete) > 10, ("evicted connections must not claim a complete story",
                                  len(cs), loss)
    # what is marked complete still is: created and ended under our eyes
    for c in cs:
        if c["complete"]:
            assert c["lifetime_ns"] is not None and c["end"] != "open"


@pytest.mark.parametrize("cmd", [["trace"], ["timewait"], ["export"]])
def test_sigkill_leaves_nothing_attached(netns, tracer, cmd):
    """Links and programs are owned by the tracer's file descriptors: a
    SIGKILL, which runs no cleanup at all, still detaches everything."""
    args = list(cmd)
    if cmd == ["export"]:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        args += ["--listen", "127.0.0.1:%d" % s.getsockname()[1]]
        s.close()
    t = tracer(*args, fmt="text")
    progs, links = prog_ids(t.proc.pid), link_ids(t.proc.pid)
    assert progs and links, (progs, links)
    assert links_left(links, timeout=0) == links  # bpftool sees them while it runs
    netns.scenario("refused")
    t.proc.kill()
    assert t.proc.wait(timeout=30) == -signal.SIGKILL
    assert not links_left(links), "links left attached after SIGKILL"
    assert not still_loaded(progs), "programs left loaded after SIGKILL"


def test_two_instances_work_independently(netns, tracer):
    """Two tracers at once each see every event of the scenario, and one
    stopping does not detach the other."""
    n = 50
    ns = ["--netns", "/run/netns/" + netns.name]
    a = tracer("trace", *ns)
    b = tracer("trace", *ns)
    assert not prog_ids(a.proc.pid) & prog_ids(b.proc.pid)  # programs of their own
    churn = netns.scenario("churn", n)["server"]["port"]
    a.stop()
    r = netns.scenario("refused")  # b goes on alone
    b.stop()

    def story(t, port):
        return Counter((e["cookie"], e["type"], e.get("old"), e.get("new"), e.get("state"))
                       for e in t.events(netns) if port in (e["lport"], e["rport"]))

    for t in (a, b):
        assert t.clean() and t.loss()["lost"] == (t.loss()["recursion_misses"] or 0), (t.returncode, t.stderr)
        moves = Counter((x[2], x[3]) for x in story(t, churn).elements())
        # each connection: a client and a server child (how each ends,
        # reset or not, and SYN retransmits vary with timing: compared below)
        for move, count in {("CLOSE", "SYN_SENT"): n, ("SYN_SENT", "ESTABLISHED"): n,
                            ("LISTEN", "SYN_RECV"): n, ("SYN_RECV", "ESTABLISHED"): n,
                            ("CLOSE", "LISTEN"): 1,
                            ("LISTEN", "CLOSE"): 1}.items():
            assert moves[move] == count, (move, moves)
    assert story(a, churn) == story(b, churn)  # the same events, each seen once
    assert not story(a, r["server"]["port"])
    assert story(b, r["server"]["port"]), "the second tracer went blind when the first stopped"


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def traced(t, port):
    """Whether the tracer has written out an event of port's connections."""
    return any(port in (e.get("lport"), e.get("rport"))
               for e in t.records_so_far() if e.get("type") != "loss")


def test_reader_stopped_stays_bounded(netns, tracer):
    """The reader stopped (SIGSTOP) for 3 s under churn: the kernel side
    cannot grow (the ring buffer and maps are fixed at creation: it drops
    and counts), the process's memory stays put, and once continued it
    drains, keeps tracing and exits cleanly with the loss reported."""
    n = 300
    t = tracer("trace", "--ringbuf-kb", "64", "--netns", "/run/netns/" + netns.name)
    pid = t.proc.pid
    warm = netns.scenario("refused")["server"]["port"]
    # warm: the reader's buffers in use, its events read and written out
    wait_until(lambda: traced(t, warm), READY_S, "the warm-up's events",
               alive=lambda: t.proc.poll() is None)
    rss0, mem0 = vm_rss_kb(pid), map_memlock(pid)
    os.kill(pid, signal.SIGSTOP)
    t0 = time.time()
    churn = netns.scenario("churn", n)["server"]["port"]
    assert mem0 == map_memlock(pid)  # nothing the kernel charges grew
    time.sleep(max(0, 3 - (time.time() - t0)))  # the 3 s stall under test, not a wait
    os.kill(pid, signal.SIGCONT)
    # reading again: the ring buffer's churn events being written out
    wait_until(lambda: traced(t, churn), READY_S, "the churn's events after SIGCONT",
               alive=lambda: t.proc.poll() is None)
    r = netns.scenario("refused")  # still tracing after the stall
    # drained: the ring buffer is read in order, so everything before is out
    wait_until(lambda: traced(t, r["server"]["port"]), READY_S, "events after the stall",
               alive=lambda: t.proc.poll() is None)
    # bounded: the stall costs the reader no memory (slack for malloc's
    # arenas and, under valgrind, its own bookkeeping)
    assert vm_rss_kb(pid) - rss0 < (64 if WRAP else 8) * 1024, (rss0, vm_rss_kb(pid))
    assert map_memlock(pid) == mem0
    t.stop()
    loss = t.loss()
    mine = [e for e in t.events(netns) if churn in (e["lport"], e["rport"])]
    # every event of the churn either delivered or counted as dropped: at
    # least 6 transitions a connection (client 3, server child 3) and the
    # listener's 2, with resets and retransmits on top
    assert len(mine) + loss["ringbuf_drops"] >= n * 6 + 2, (len(mine), loss)
    assert len(mine) < n * 6, "the stall should have cost events"
    assert loss["ringbuf_drops"] > 0, "64 KiB cannot hold 2400 events: drops expected"
    assert t.returncode == 4, (t.returncode, loss)  # and the exit code says so
    assert [e for e in t.events(netns) if e["rport"] == r["server"]["port"]], \
        "no events after the stall"

"""Servers started before tcpdwell (the normal case on a production host):
their listeners are found in /proc at start, as `ss -p` finds them, so the
children they accept carry the server as owner from their first
transition, not the client that happened to be on the CPU. The ground
truth is the server process's own pid, comm and cgroup."""
import json
import os
import subprocess

from conftest import PYTHON, SCENARIO
from test_containers import Cgroup


class OldServer:
    """scenario.py old_server in the test namespace, driven a step at a
    time over stdin; each step returns once the scenario has done it."""

    def __init__(self, netns, n, pre=None):
        cmd = ["ip", "netns", "exec", netns.name, "env", "TD_COMM=tdserver", PYTHON, SCENARIO,
               "old_server", str(n)]
        if pre:
            cmd = ["sh", "-c", pre + ' && exec "$@"', "sh"] + cmd
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        first = json.loads(self.p.stdout.readline())
        self.pid, self.port = first["pid"], first["port"]
        self.holder, self.held_lport = first["holder"], first["held_lport"]

    def step(self, what):
        self.p.stdin.write(what + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def quit(self):
        out, _ = self.p.communicate("quit\n", timeout=60)
        assert self.p.returncode == 0, out


def children(t, netns, srv):
    """The server side's sockets accepted while traced (not the one held
    from the start): their records by cookie, in order."""
    by = {}
    for e in t.events(netns):
        if e["type"] == "state" and e["lport"] == srv.port and \
                e["rport"] not in (0, srv.held_lport):
            by.setdefault(e["cookie"], []).append(e)
    return by


def test_server_started_first_owns_its_children(netns, tracer, cgroup2):
    cg = Cgroup(cgroup2, "tdtest-%d.slice" % os.getpid(), "web.service")
    try:
        srv = OldServer(netns, 1, pre=cg.enter())
        t = tracer("trace", "--netns", "/run/netns/" + netns.name)
        client = srv.step("connect")["client"]
        srv.quit()
        t.stop()
    finally:
        cg.remove()
    assert t.clean(), t.stderr
    kids = children(t, netns, srv)
    assert len(kids) == 1
    evs = list(kids.values())[0]
    assert [(e["old"], e["new"]) for e in evs][:2] == [("LISTEN", "SYN_RECV"),
                                                      ("SYN_RECV", "ESTABLISHED")]
    # before accept(): the listener's owner, found in /proc; then accept's
    for e in evs:
        assert (e["pid"], e["comm"]) == (srv.pid, "tdserver"), e
        assert e["cgroup"] == cg.id and e["cgroup_path"] == cg.rel
        assert e["container"] == "web.service"
    assert evs[0]["owner"] == "listener" and evs[-1]["owner"] == "accept"
    # the client's side is its own
    mine = [e for e in t.events(netns) if e["type"] == "state" and e["lport"] == client["lport"]]
    assert mine and all(e["pid"] == client["pid"] and e["comm"] == "tdclient" for e in mine)
    # the listener itself, first seen when it closed: its holder, said so
    lst = [e for e in t.events(netns) if e["type"] == "state" and e["lport"] == srv.port and
           e["old"] == "LISTEN" and e["new"] == "CLOSE"]
    assert len(lst) == 1 and lst[0]["pid"] == srv.pid and lst[0]["owner"] == "proc"
    assert lst[0]["first_seen"]


def test_owner_filter_sees_an_old_server(netns, tracer):
    """--pid of a server started first: its accepted connections pass from
    their first transition (the filter is the kernel's, on the owner)."""
    srv = OldServer(netns, 1)
    t = tracer("trace", "--netns", "/run/netns/" + netns.name, "--pid", str(srv.pid))
    srv.step("connect")
    srv.step("connect")
    srv.quit()
    t.stop()
    assert t.clean(), t.stderr
    kids = children(t, netns, srv)
    assert len(kids) == 2
    for evs in kids.values():
        assert (evs[0]["old"], evs[0]["new"]) == ("LISTEN", "SYN_RECV")
    assert all(e["pid"] == srv.pid for e in t.events(netns))


def test_unknown_listener_gets_its_owner_at_accept(netns, tracer):
    """Two SO_REUSEPORT listeners share a port; one closes and takes the
    port's owner entry with it. The next child shows its owner unknown
    (inferred); its accept() makes the accepting task the listener's owner,
    in the kernel: the children after it have the server as owner."""
    srv = OldServer(netns, 2)
    t = tracer("trace", "--netns", "/run/netns/" + netns.name)
    srv.step("close")
    first = None
    for _ in range(50):  # bounded: each step is one whole connection
        srv.step("connect")
        recs = [e for e in t.records_so_far() if e.get("type") == "state" and
                e.get("netns") == netns.inum and e["lport"] == srv.port and
                e["rport"] != srv.held_lport and
                e["old"] == "LISTEN" and e["new"] == "SYN_RECV"]
        if first is None and recs:
            first = recs[0]
        if recs and recs[-1]["owner"] == "listener":
            break
    srv.quit()
    t.stop()
    assert t.clean(), t.stderr
    assert first is not None and first["owner"] == "inferred"
    assert recs[-1]["owner"] == "listener" and recs[-1]["pid"] == srv.pid, recs[-1]


def test_connection_older_than_tcpdwell_has_its_holder(netns, tracer):
    """A connection established before tcpdwell: its first sight is the
    peer's FIN, processed in softirq in the closing client's context. The
    server's end still shows the server (found in /proc by its socket
    inode, source proc), the client's end the client."""
    srv = OldServer(netns, 1)
    t = tracer("trace", "--netns", "/run/netns/" + netns.name)
    srv.step("drop")
    srv.quit()
    t.stop()
    assert t.clean(), t.stderr
    evs = [e for e in t.events(netns) if e["type"] == "state"]
    server_end = [e for e in evs if (e["lport"], e["rport"]) == (srv.port, srv.held_lport)]
    client_end = [e for e in evs if (e["lport"], e["rport"]) == (srv.held_lport, srv.port)]
    assert server_end and client_end, evs
    assert (server_end[0]["old"], server_end[0]["new"]) == ("ESTABLISHED", "CLOSE_WAIT")
    assert server_end[0]["first_seen"]
    assert all((e["pid"], e["comm"], e["owner"]) == (srv.pid, "tdserver", "proc")
               for e in server_end), server_end
    assert all((e["pid"], e["comm"], e["owner"]) == (srv.holder, "tdholder", "proc")
               for e in client_end), client_end

"""`tcpdwell timeline`: one record per finished connection, checked against
each scenario's known story."""
import signal
import subprocess
import sys

import pytest

from conftest import READY_S, assert_close_ms, fold_tw_substate, wait_until, written


def conns(t, netns):
    return [x for x in t.records() if x["type"] == "connection" and x["netns"] == netns.inum]


def by_ports(cs, lport, rport):
    found = [c for c in cs if (c["lport"], c["rport"]) == (lport, rport)]
    assert len(found) == 1, (lport, rport, cs)
    return found[0]


def states(c):
    return [(e["old"], e["new"]) for e in c["events"] if e["type"] == "state"]


def test_timeline_server_close(netns, tracer):
    netns.sysctl("net.ipv4.tcp_fin_timeout", 5)
    t = tracer("timeline")
    r = netns.scenario("server_close", 0.2, 0.1)
    t.stop()
    assert t.clean(), t.stderr
    cs = conns(t, netns)
    srv, cl = r["server"], r["client"]

    c = by_ports(cs, cl["lport"], srv["port"])  # passive closer: ends with LAST_ACK -> CLOSE
    assert c["opened"] == "active" and c["closed_first"] == "remote" and c["end"] == "closed"
    assert c["complete"] and c["pid"] == cl["pid"] and c["owner"] == "connect"
    # the handshake happened while connect() waited (same clock: a TCG
    # guest's interpreter takes milliseconds around it, the kernel less)
    assert 0 < c["handshake_ns"] <= cl["t_connected"] - cl["t_connect"], (c, cl)
    first, last = c["events"][0]["ts_ns"], c["events"][-1]["ts_ns"]
    assert c["lifetime_ns"] == last - first
    assert_close_ms(c["lifetime_ns"] / 1e6, (cl["t_close"] - cl["t_connect"]) / 1e6,
                    "client lifetime", abs_ms=10)

    s = by_ports(cs, srv["port"], cl["lport"])  # active closer: still in TIME_WAIT at exit
    assert s["opened"] == "passive" and s["closed_first"] == "local"
    assert s["end"] == "open" and not s["complete"] and s["lifetime_ns"] is None
    assert states(s)[-1] == ("FIN_WAIT2(tw)", "TIME_WAIT")
    assert s["pid"] == srv["pid"] and s["owner"] == "accept"
    # no listener record: a listener is not a connection
    assert not [c for c in cs if c["rport"] == 0]


def test_timeline_refused_and_resets(netns, tracer):
    t = tracer("timeline")
    ref = netns.scenario("refused")
    abt = netns.scenario("linger0")
    t.stop()
    cs = conns(t, netns)

    c = [c for c in cs if c["rport"] == ref["server"]["port"]]
    assert len(c) == 1
    c = c[0]
    assert c["end"] == "refused" and c["closed_first"] == "never_opened"
    assert c["resets_received"] == 1 and c["complete"] and c["handshake_ns"] is None

    a = by_ports(cs, abt["client"]["lport"], abt["server"]["port"])
    assert a["end"] == "reset" and a["closed_first"] == "local_reset" and a["resets_sent"] == 1
    # the RST follows -> CLOSE in the kernel; the record waited for it
    assert [e["type"] for e in a["events"]][-2:] == ["state", "reset_sent"]
    b = by_ports(cs, abt["server"]["port"], abt["client"]["lport"])
    assert b["end"] == "reset" and b["closed_first"] == "remote_reset"


@pytest.mark.parametrize("scenario,end", [("syn_recycle", "reused"), ("rst_kill", "reset")])
def test_timeline_timewait_ends(netns, tracer, scenario, end):
    t = tracer("timeline")
    netns.scenario(scenario)
    t.stop()
    cs = conns(t, netns)
    ended = [c for c in cs if c["end"] == end]
    assert len(ended) == 1, cs
    c = ended[0]
    assert c["complete"] and c["closed_first"] == "local"
    assert fold_tw_substate(states(c))[-2:] == [("FIN_WAIT2", "TIME_WAIT"), ("TIME_WAIT", "CLOSE")]
    assert c["events"][-1]["end"] == end


def test_timeline_syn_retransmit(netns, tracer):
    t = tracer("timeline")
    r = netns.scenario("syn_retrans")
    t.stop()
    c = by_ports(conns(t, netns), r["client"]["lport"], r["server"]["port"])
    assert c["retransmits"] == 1 and c["failed_retransmits"] == 0
    assert [e["type"] for e in c["events"]][:3] == ["state", "retrans", "state"]
    assert 900e6 < c["handshake_ns"] < 1500e6


def test_timeline_text_block(netns, tracer):
    t = tracer("timeline", fmt="text")
    r = netns.scenario("refused")
    t.stop()
    blocks = [b for b in t.stdout.split("\n\n") if ":%d  pid" % r["server"]["port"] in b]
    assert len(blocks) == 1, t.stdout
    b = blocks[0]
    assert "opened active" in b and "end refused" in b and "RST received" in b
    assert "SYN_SENT -> CLOSE" in b and "lifetime" in b


# a client and its accepted connection (two connections; the listener is
# not one), held open until stdin closes
HOLD = """
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
c = socket.create_connection(s.getsockname()); a, _ = s.accept()
print("open", flush=True); sys.stdin.read()
"""


def test_timeline_sigusr1_says_how_full_its_table_is(netns, tracer):
    """SIGUSR1 tells how many connections timeline holds, for sizing
    --max-sockets: exactly the open ones of the namespace."""
    t = tracer("timeline", "--netns", "/run/netns/" + netns.name, "--max-sockets", "4096",
               fmt="text")
    holder = subprocess.Popen(["ip", "netns", "exec", netns.name, sys.executable, "-c", HOLD],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "open\n"
        lines, sent = [], [0]

        def counted():  # until the reader has read both sockets' events
            lines[:] = [l for l in written(t.err).splitlines() if "connections open" in l]
            if lines and lines[-1].startswith("tcpdwell: timeline: 2 "):
                return True
            if len(lines) == sent[0]:  # the last one answered: ask again
                t.proc.send_signal(signal.SIGUSR1)
                sent[0] += 1
            return False
        wait_until(counted, READY_S, "timeline's count of open connections",
                   alive=lambda: t.proc.poll() is None)
    finally:
        holder.stdin.close()
        holder.wait()
    t.stop()
    assert lines[-1] == "tcpdwell: timeline: 2 connections open, 0 not kept (--max-sockets 4096)"
    # never more than there were
    assert all(int(l.split()[2]) <= 2 for l in lines), lines

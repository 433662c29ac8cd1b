"""Flags the README promises, each exercised with traffic that must and must
not show."""
import re
import time

from conftest import READY_S, Netns


def test_netns_filter(netns, tracer):
    """--netns keeps exactly one namespace's events, by path or inode."""
    other = Netns()
    try:
        by_path = tracer("trace", "--netns", "/run/netns/" + netns.name)
        by_inum = tracer("trace", "--netns", str(netns.inum))
        mine = netns.scenario("refused")
        theirs = other.scenario("refused")
        for t in (by_path, by_inum):
            t.stop()
            evs = t.events()
            assert evs and all(e["netns"] == netns.inum for e in evs), evs
            assert [e for e in evs if e["rport"] == mine["server"]["port"]]
            assert not [e for e in evs if e["netns"] == other.inum]
        assert theirs  # the other namespace did have traffic
    finally:
        other.delete()


def test_wall_clock_and_wide_text(netns, tracer):
    t = tracer("trace", "-T", "-w", "--netns", str(netns.inum), fmt="text")
    before = time.localtime()
    r = netns.scenario("refused")
    t.stop()
    lines = [l for l in t.stdout.splitlines() if ":%d " % r["server"]["port"] in l]
    assert lines, t.stdout
    header = t.stdout.splitlines()[0].split()
    assert header[:8] == ["TIME", "PID", "COMM", "AF", "NETNS", "COOKIE", "OWNER", "CGROUP"]
    for l in lines:
        f = l.split()
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{6}", f[0]), l
        assert abs(int(f[0][:2]) - before.tm_hour) in (0, 1, 23)
    conn = [l.split() for l in lines if "SYN_SENT -> CLOSE" in l][0]
    assert conn[3] == "4" and conn[4] == str(netns.inum) and conn[6] == "connect"
    assert int(conn[5]) > 0  # the socket cookie


def test_json_wall_clock(netns, tracer):
    t = tracer("trace", "-T", "--netns", str(netns.inum))
    netns.scenario("refused")
    t.stop()
    for e in t.events():
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", e["wall"]), e
        assert e["time"] >= 0


def test_dwell_interval_reports(netns, tracer):
    """-i prints the interval's share; the total at exit holds everything."""
    t = tracer("dwell", "-i", "1", "--netns", str(netns.inum))
    netns.scenario("client_close", 0.1, 0.1)
    # an interval ends between the two connections: its report printed
    t.wait_output('"span":"interval"', READY_S)
    netns.scenario("client_close", 0.1, 0.1)
    t.stop()
    recs = [r for r in t.records() if r["type"] == "dwell"]
    intervals = [r for r in recs if r["span"] == "interval"]
    total = [r for r in recs if r["span"] == "total"]
    assert len(intervals) >= 1 and len(total) == 1
    est = [r["states"].get("ESTABLISHED", {"count": 0})["count"] for r in intervals]
    # two connections, two ends each: 4 ESTABLISHED dwell times in all
    assert total[0]["states"]["ESTABLISHED"]["count"] == 4
    assert sum(est) <= 4
    assert all(r["seq"] == i for i, r in enumerate(intervals))


def test_timeline_ipv6(netns, tracer):
    netns.sysctl("net.ipv4.tcp_fin_timeout", 2)  # also governs IPv6 TCP
    t = tracer("timeline", "-6", "--netns", str(netns.inum))
    r = netns.scenario("orphan_expire", 2.6, "-6")
    t.stop()
    cs = [c for c in t.records() if c["type"] == "connection"]
    assert cs and all(c["family"] == 6 and c["laddr"] == "::1" for c in cs)
    c = [c for c in cs if c["lport"] == r["client"]["lport"]][0]
    assert c["end"] == "expired" and c["complete"]
    assert [e["new"] for e in c["events"] if e["type"] == "state"][-2:] == \
        ["FIN_WAIT2(tw)", "CLOSE"]


def test_no_accept_tracepoint(netns, tracer):
    """Without the accept() tracepoints a child keeps its listener's owner."""
    t = tracer("trace", "--no-accept-tracepoint", "--netns", str(netns.inum))
    r = netns.scenario("server_close", 0.05, 0.05)
    t.stop()
    srv, cl = r["server"], r["client"]
    s = [e for e in t.events() if (e["lport"], e["rport"]) == (srv["port"], cl["lport"])]
    assert s and all(e["owner"] == "listener" and e["pid"] == srv["pid"] for e in s), s
    progs = {p["name"] for p in t.loss()["programs"]}
    assert "td_set_state" in progs and not progs & {"td_exit_accept", "td_exit_accept4"}

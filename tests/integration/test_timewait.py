"""TIME_WAIT and the closing states, seen from tracepoints only: the scenario
matrix of issue P2. Each test asserts the sequence, the end reason and the
dwell within 5 % (or 5 ms) of the scenario's own clock."""
import random

import os

from conftest import (assert_close_ms, dwell_ms, fold_tw_substate, one_socket, sockets,
                      transitions)

HANDSHAKE_C = [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED")]
HANDSHAKE_S = [("LISTEN", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED")]


def tw_end(evs):
    ends = [e for e in evs if e["type"] == "state" and e["timewait"] and e["new"] == "CLOSE"]
    assert len(ends) == 1, evs
    return ends[0]


def test_simultaneous_close(netns, tracer):
    t = tracer("trace")
    r = netns.scenario("simultaneous")
    t.stop()
    evs = t.events(netns)
    port, lport = r["server"]["port"], r["client"]["lport"]
    closing = 0
    for lp, rp, hs in ((lport, port, HANDSHAKE_C), (port, lport, HANDSHAKE_S)):
        s = one_socket(evs, lport=lp, rport=rp)
        tr = fold_tw_substate(transitions(s))
        assert tr[:2] == hs
        # FINs crossed: FIN_WAIT1 -> CLOSING -> TIME_WAIT; or this end's FIN was
        # acked first: FIN_WAIT1 -> FIN_WAIT2 -> TIME_WAIT
        assert tr[2:] in ([("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "CLOSING"),
                           ("CLOSING", "TIME_WAIT")],
                          [("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "FIN_WAIT2"),
                           ("FIN_WAIT2", "TIME_WAIT")]), tr
        closing += ("CLOSING", "TIME_WAIT") in tr
        assert s[-1]["timewait"] and s[-1]["pid"] == r["server"]["pid"]
        # the FINs were held back 100 ms by nftables, then retransmitted (RTO >= 200 ms)
        assert dwell_ms(s, "FIN_WAIT1") > 100
    assert closing >= 1
    assert t.loss()["lost"] == 0


def test_shutdown_then_close(netns, tracer):
    netns.sysctl("net.ipv4.tcp_fin_timeout", 5)
    t = tracer("trace")
    r = netns.scenario("shutdown_then_close", 0.3, 0.2)
    t.stop()
    evs = t.events(netns)
    srv, cl = r["server"], r["client"]
    c = one_socket(evs, lport=cl["lport"], rport=srv["port"])
    assert transitions(c) == HANDSHAKE_C + [
        ("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "FIN_WAIT2"),
        ("FIN_WAIT2", "FIN_WAIT2(tw)"), ("FIN_WAIT2(tw)", "TIME_WAIT")]
    # a real FIN_WAIT2 from shutdown() to close(): no same-state noise in between
    fw2 = dwell_ms(c, "FIN_WAIT1") + dwell_ms(c, "FIN_WAIT2")
    assert_close_ms(fw2, (cl["t_close"] - cl["t_shutdown"]) / 1e6, "FIN_WAIT1+FIN_WAIT2")
    assert_close_ms(dwell_ms(c, "FIN_WAIT2(tw)"), (srv["t_close"] - cl["t_close"]) / 1e6,
                    "FIN_WAIT2(tw)")
    assert all(e["pid"] == cl["pid"] and e["owner"] == "connect" for e in c)


def test_orphan_fin_wait2_expires_at_fin_timeout(netns, tracer):
    netns.sysctl("net.ipv4.tcp_fin_timeout", 2)
    port = random.randint(20000, 29999)
    t = tracer("trace")
    d = tracer("dwell", "--rport", str(port))  # the client side only
    r = netns.scenario("orphan_expire", 2.6, env={"TD_PORT": str(port)})
    t.stop()
    d.stop()
    total = [x for x in d.records() if x["type"] == "dwell" and x["span"] == "total"][0]
    h = total["states"]["FIN_WAIT2(tw)"]
    assert h["count"] == 1
    assert_close_ms(h["p50_ns"] / 1e6, 2000.0, "dwell FIN_WAIT2(tw) p50")
    assert_close_ms(h["max_ns"] / 1e6, 2000.0, "dwell FIN_WAIT2(tw) max")
    assert "TIME_WAIT" not in total["states"]
    evs = t.events(netns)
    srv, cl = r["server"], r["client"]
    c = one_socket(evs, lport=cl["lport"], rport=srv["port"])
    assert transitions(c) == HANDSHAKE_C + [
        ("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "FIN_WAIT2"),
        ("FIN_WAIT2", "FIN_WAIT2(tw)"), ("FIN_WAIT2(tw)", "CLOSE")]
    end = tw_end(c)
    assert end["end"] == "expired" and end["old"] == "FIN_WAIT2(tw)"
    assert_close_ms(end["dwell_ns"] / 1e6, 2000.0, "FIN_WAIT2(tw) until fin_timeout")
    assert end["ts_ns"] - cl["t_close"] < 2.2e9


def test_timewait_reused_by_tw_reuse(netns, tracer):
    netns.sysctl("net.ipv4.tcp_tw_reuse", 1)
    wait = 0.2
    if os.path.exists("/proc/sys/net/ipv4/tcp_tw_reuse_delay"):  # 6.13+
        netns.sysctl("net.ipv4.tcp_tw_reuse_delay", 1)  # ms: reusable at once
    else:
        wait = 2.1  # the timestamp must be from an earlier second (tcp_twsk_unique)
    t = tracer("trace")
    r = netns.scenario("tw_reuse", wait)
    t.stop()
    evs = t.events(netns)
    port, cl = r["server"]["port"], r["client"]
    mine = [e for e in evs if (e["lport"], e["rport"]) == (cl["lport"], port)]
    old, new = sorted(sockets(mine).values(), key=lambda v: v[0]["ts_ns"])
    assert fold_tw_substate(transitions(old))[-2:] == [("FIN_WAIT2", "TIME_WAIT"),
                                                       ("TIME_WAIT", "CLOSE")]
    end = tw_end(old)
    assert end["end"] == "reused"
    # the new connection took the 4-tuple inside connect(): after its SYN_SENT
    assert new[0]["ts_ns"] <= end["ts_ns"] <= new[1]["ts_ns"]
    if end["substate_switch_unseen"]:
        # the FIN_WAIT2(tw) -> TIME_WAIT switch was silent (a re-arm in the same
        # timer-wheel bucket, seen in the TCG guest): the end can only time
        # the whole timewait socket, from the client's close()
        assert end["dwell_ns"] is None
        assert_close_ms(end["timewait_ns"] / 1e6, (cl["t_reuse"] - cl["t_close"]) / 1e6,
                        "timewait socket until reuse", abs_ms=10)
    else:
        assert_close_ms(end["dwell_ns"] / 1e6, (cl["t_reuse"] - cl["t_tw"]) / 1e6,
                        "TIME_WAIT until reuse", abs_ms=10)


def test_timewait_recycled_by_syn(netns, tracer):
    t = tracer("trace")
    r = netns.scenario("syn_recycle")
    t.stop()
    evs = t.events(netns)
    srv, cl = r["server"], r["client"]
    mine = [e for e in evs if (e["lport"], e["rport"]) == (srv["port"], cl["lport"])]
    old, new = sorted(sockets(mine).values(), key=lambda v: v[0]["ts_ns"])
    assert fold_tw_substate(transitions(old)) == HANDSHAKE_S + [
        ("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "FIN_WAIT2"), ("FIN_WAIT2", "TIME_WAIT"),
        ("TIME_WAIT", "CLOSE")]
    end = tw_end(old)
    assert end["end"] == "reused"
    assert srv["t_tw"] <= end["ts_ns"] <= srv["t_new"]
    assert transitions(new)[:2] == HANDSHAKE_S


def test_timewait_killed_by_rst(netns, tracer):
    t = tracer("trace")
    r = netns.scenario("rst_kill")
    t.stop()
    evs = t.events(netns)
    port, cl = r["server"]["port"], r["client"]
    c = one_socket(evs, lport=cl["lport"], rport=port)
    end = tw_end(c)
    assert end["end"] == "reset" and end["old"] == "TIME_WAIT"
    assert end["ts_ns"] >= cl["t_inject"]
    assert_close_ms(end["ts_ns"] / 1e6, cl["t_inject"] / 1e6, "kill after injection")


def nstat(netns, counter):
    out = netns.run("nstat", "-az", counter, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith(counter):
            return int(line.split()[1])
    raise AssertionError("no %s in nstat output" % counter)


def test_timewait_overflow(netns, tracer):
    netns.sysctl("net.ipv4.tcp_max_tw_buckets", 2)
    before = nstat(netns, "TcpExtTCPTimeWaitOverflow")
    t = tracer("trace")
    r = netns.scenario("many_client_close", 5)
    t.stop()
    overflows = nstat(netns, "TcpExtTCPTimeWaitOverflow") - before
    evs = t.events(netns)
    port = r["server"]["port"]
    entered = [e for e in evs if e["type"] == "state" and e["new"] in ("TIME_WAIT", "FIN_WAIT2(tw)")]
    over = [e for e in evs if e.get("end") == "overflow"]
    assert overflows == 3, overflows
    assert len(entered) == 2 and len(over) == 3, (entered, over)
    for e in over:
        assert e["old"] in ("FIN_WAIT2", "CLOSING") and e["new"] == "CLOSE"
        assert e["rport"] == port and e["lport"] in r["client"]["lports"]

"""TIME_WAIT and the closing states, seen from tracepoints only: the scenario
matrix of issue P2. Each test asserts the sequence, the end reason and the
dwell within 5 % (or 5 ms) of the scenario's own clock."""
import contextlib
import json
import os
import random
import subprocess
import time

import pytest

from conftest import (PYTHON, READY_S, WRAP, Netns, assert_close_ms, dwell_ms,
                      fold_tw_substate, one_socket, sockets, sockstat_tw, transitions,
                      wait_until)

HANDSHAKE_C = [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED")]
HANDSHAKE_S = [("LISTEN", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED")]

# Socket identity (docs/design.md §3.5): what this kernel gives (cookies from
# 5.12), and ids of tcpdwell's own, which reach a timewait socket by its
# 4-tuple: each end reason is decided under both.
SOCKET_IDS = {"auto": [], "own": ["--socket-id", "own"]}


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


@pytest.mark.parametrize("ids", list(SOCKET_IDS))
def test_timewait_reused_by_tw_reuse(netns, tracer, ids):
    netns.sysctl("net.ipv4.tcp_tw_reuse", 1)
    wait = 0.2
    if os.path.exists("/proc/sys/net/ipv4/tcp_tw_reuse_delay"):  # 6.13+
        netns.sysctl("net.ipv4.tcp_tw_reuse_delay", 1)  # ms: reusable at once
    else:
        wait = 2.1  # the timestamp must be from an earlier second (tcp_twsk_unique)
    t = tracer("trace", *SOCKET_IDS[ids])
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


@pytest.mark.parametrize("ids", list(SOCKET_IDS))
def test_timewait_recycled_by_syn(netns, tracer, ids):
    t = tracer("trace", *SOCKET_IDS[ids])
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


@pytest.mark.parametrize("ids", list(SOCKET_IDS))
def test_timewait_killed_by_rst(netns, tracer, ids):
    t = tracer("trace", *SOCKET_IDS[ids])
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
    entered = [e for e in evs if e["type"] == "state" and e["new"] in ("TIME_WAIT", "FIN_WAIT2(tw)")
               and e["old"] != "FIN_WAIT2(tw)"]  # the substate switch is no entry
    over = [e for e in evs if e.get("end") == "overflow"]
    assert overflows == 3, overflows
    assert len(entered) == 2 and len(over) == 3, (entered, over)
    for e in over:
        assert e["old"] in ("FIN_WAIT2", "CLOSING") and e["new"] == "CLOSE"
        assert e["rport"] == port and e["lport"] in r["client"]["lports"]


@contextlib.contextmanager
def cpu_hog(on):
    """A busy loop per CPU at the tracer's own priority (nice 0): the
    tracer, the scenario and softirq work all wait for a CPU."""
    procs = [subprocess.Popen([PYTHON, "-c", "while True: pass"])
             for _ in range(os.cpu_count() if on else 0)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def tw_ends_of(t, ns):
    """The timewait ends the tracer has written so far, by 4-tuple."""
    by = {}
    for e in t.records_so_far():
        if (e.get("type") == "state" and e["netns"] == ns.inum and e["timewait"]
                and e["new"] == "CLOSE"):
            by.setdefault((e["lport"], e["rport"]), []).append(e)
    return by


def wait_tw_ends(t, ns, count, timeout=60):
    """Until the tracer has written `count` timewait ends in ns (the last of
    them may come up to the claim window after the kill: TD_TW_CLAIM_NS)."""
    def enough():
        got = tw_ends_of(t, ns)
        return got if sum(len(v) for v in got.values()) >= count else None
    try:
        return wait_until(enough, timeout + (READY_S if WRAP else 0),
                          "%d timewait ends written" % count,
                          alive=lambda: t.proc.poll() is None)
    except AssertionError:
        assert t.proc.poll() is None, "tracer ended early"
        return tw_ends_of(t, ns)  # fewer: the test's own checks say which


N_REASONS = 50


@pytest.mark.parametrize("load,ids", [("idle", "auto"), ("hog", "auto"), ("idle", "own")])
def test_end_reasons_decided_by_what_happened(netns, tracer, load, ids):
    """N_REASONS timewait sockets ended each way (see scenario tw_reasons),
    on an idle machine and with every CPU busy: every end has the reason of
    what happened to its socket, whatever ran on the CPU in between."""
    netns.sysctl("net.ipv4.tcp_tw_reuse", 1)
    netns.sysctl("net.ipv4.tcp_fin_timeout", 1)
    wait = 1.1  # tcp_twsk_unique: a TIME_WAIT from an earlier second
    if os.path.exists("/proc/sys/net/ipv4/tcp_tw_reuse_delay"):  # 6.13+
        netns.sysctl("net.ipv4.tcp_tw_reuse_delay", 1)  # ms
        wait = 0.01
    t = tracer("trace", "--netns", "/run/netns/" + netns.name, *SOCKET_IDS[ids])
    with cpu_hog(load == "hog"):
        r = netns.scenario("tw_reasons", N_REASONS, wait, timeout=300)
        want = {tuple(tup): reason for reason, tups in r["ends"].items() for tup in tups}
        got = wait_tw_ends(t, netns, len(want))
    t.stop()
    missed = [(p["name"], p["recursion_misses"]) for p in t.loss()["programs"]
              if p["recursion_misses"]]
    wrong = {tup: [(e["end"], e["old"]) for e in got.get(tup, [])]
             for tup, reason in want.items()
             if [e["end"] for e in got.get(tup, [])] != [reason]}
    story = [(e["type"], e.get("old"), e.get("new"), e.get("end"), e["lport"], e["rport"],
              e["ts_ns"]) for e in t.events(netns)
             if (e["lport"], e["rport"]) in wrong or (e["rport"], e["lport"]) in wrong]
    assert not wrong, "%d of %d ends wrong (want %s): %s; recursion misses %s; events %s" % (
        len(wrong), len(want), {k: want[k] for k in list(wrong)[:5]}, list(wrong.items())[:5],
        missed, story[:40])
    assert t.clean(), (t.stderr, missed)
    assert len(r["ends"]["reused"]) == 2 * N_REASONS
    for reason in ("reset", "killed", "expired"):
        assert len(r["ends"][reason]) == N_REASONS, reason
    for tup, reason in want.items():
        e = got[tup][0]
        assert e["old"] == ("FIN_WAIT2(tw)" if reason in ("killed", "expired")
                            else "TIME_WAIT"), e


@pytest.mark.parametrize("load", ["idle", "hog"])
def test_timewait_killed_with_its_namespace(tracer, bpf, load):
    """Deleting a namespace kills its timewait sockets (inet_twsk_purge):
    each ends as killed, told at the cancel itself."""
    ns = Netns()
    try:
        t = tracer("trace", "--netns", "/run/netns/" + ns.name)
        r = ns.scenario("many_client_close", N_REASONS)
        with cpu_hog(load == "hog"):
            ns.delete()
            got = wait_tw_ends(t, ns, N_REASONS)
        t.stop()
    finally:
        ns.delete()
    lports = r["client"]["lports"]
    assert len(got) == N_REASONS
    assert sorted(lp for lp, _ in got) == sorted(lports)
    assert all([e["end"] for e in v] == ["killed"] for v in got.values()), got




@contextlib.contextmanager
def proc_net_of(ns):
    """/proc/PID/net of a process that waits in ns: that namespace's
    /proc/net, read without starting a process per read (which takes
    100 ms and more in a TCG guest)."""
    anchor = subprocess.Popen(["ip", "netns", "exec", ns.name, "sleep", "600"])
    try:
        wait_until(lambda: os.stat("/proc/%d/ns/net" % anchor.pid).st_ino == ns.inum, 30,
                   "the anchor entering " + ns.name, alive=lambda: anchor.poll() is None)
        yield "/proc/%d/net" % anchor.pid
    finally:
        anchor.kill()
        anchor.wait()


def tw_timer_fin_ns(proc_net, lport, rport):
    """When the peer's FIN reached a TIME_WAIT socket, as the kernel keeps
    it: /proc/net/tcp's timer (type 3) counts down the 60 s TIME_WAIT the
    FIN started, in clock_t (10 ms). None when the socket is not listed."""
    t0 = time.monotonic_ns()
    with open(proc_net + "/tcp") as f:
        out = f.read()
    t1 = time.monotonic_ns()
    for line in out.splitlines()[1:]:
        f = line.split()
        lp, rp = int(f[1].split(":")[1], 16), int(f[2].split(":")[1], 16)
        kind, left = f[5].split(":")
        if (lp, rp) == (lport, rport) and f[3] == "06" and kind == "03":
            return (t0 + t1) // 2 - (6000 - int(left, 16)) * 10_000_000
    return None


@pytest.mark.parametrize("peer", ["quick", "slow", "never"])
def test_silent_substate_switch_shown_live(netns, tracer, peer):
    """tcp_fin_timeout at its default 60 s: the peer's FIN re-arms the
    orphan's timer within its wheel bucket, and no timer tracepoint fires.
    The switch FIN_WAIT2(tw) -> TIME_WAIT still shows within 1 s of the FIN,
    at the FIN's time, in trace, dwell and export; a FIN that never comes
    (the peer resets instead) shows none."""
    from test_export import get, parse, start_exporter, total
    netns.sysctl("net.ipv4.tcp_fin_timeout", 60)
    path = "/run/netns/" + netns.name
    t = tracer("trace", "--netns", path)
    d = tracer("dwell", "--netns", path, "-i", "0.2")
    x, xport = start_exporter(tracer, netns)
    wait = {"quick": 0.0, "slow": 1.5, "never": 1.5}[peer]
    env = dict(os.environ, TD_ABORT="1") if peer == "never" else None
    scen = subprocess.Popen(["ip", "netns", "exec", netns.name, PYTHON,
                             os.path.join(os.path.dirname(__file__), "scenario.py"),
                             "orphan_expire", str(wait)], stdout=subprocess.PIPE, text=True,
                            env=env)
    seen = {}
    fin_ns = r = None
    deadline = time.monotonic() + 30 + wait + (READY_S if WRAP else 0)
    with proc_net_of(netns) as proc_net:
        while len(seen) < 3 and time.monotonic() < deadline:
            if r is None and scen.poll() is not None:
                r = json.loads(scen.communicate(timeout=60)[0])
            now = time.monotonic_ns()
            if "trace" not in seen:
                into = [e for e in t.records_so_far() if e.get("type") == "state"
                        and e["new"] == "TIME_WAIT"]
                if r and any(e["lport"] == r["client"]["lport"] and e["old"] != "FIN_WAIT2(tw)"
                             for e in into):
                    break  # the FIN came before close(): straight in, no switch to show
                sw = [e for e in into if e["old"] == "FIN_WAIT2(tw)"]
                if sw:
                    seen["trace"] = now
                    fin_ns = tw_timer_fin_ns(proc_net, sw[0]["lport"], sw[0]["rport"])
            if "dwell" not in seen and any(
                    x.get("type") == "dwell" and "FIN_WAIT2(tw)" in x["states"]
                    for x in d.records_so_far()):
                seen["dwell"] = now
            if "export" not in seen and total(
                    parse(get(xport)[2]), "tcpdwell_transitions_total",
                    **{"from": "FIN_WAIT2(tw)", "to": "TIME_WAIT"}):
                seen["export"] = now
            if peer == "never" and r:
                break
            time.sleep(0.02)  # a poll interval of a loop that times when each view shows it
    r = r or json.loads(scen.communicate(timeout=60)[0])
    samples = parse(get(xport)[2])
    for tr in (t, d, x):
        tr.stop()
    t_fin = r["server"]["t_close"]
    evs = t.events(netns)
    c = one_socket(evs, lport=r["client"]["lport"], rport=r["server"]["port"])
    tr = transitions(c)
    if peer == "never":
        # (dwell counts FIN_WAIT2(tw) too when the RST ends it)
        assert "trace" not in seen and "export" not in seen, seen
        assert tr[-2:] == [("FIN_WAIT2", "FIN_WAIT2(tw)"), ("FIN_WAIT2(tw)", "CLOSE")], tr
        assert tw_end(c)["end"] == "reset"
        return
    assert tr[-1] == ("FIN_WAIT2(tw)", "TIME_WAIT") or peer == "quick", tr
    if tr[-1] != ("FIN_WAIT2(tw)", "TIME_WAIT"):
        # the FIN came before the client's close() had orphaned its socket
        assert fold_tw_substate(tr)[-1] == ("FIN_WAIT2", "TIME_WAIT"), tr
        return
    sw = c[-1]
    # live: each view had it within 1 s of the FIN
    late = {k: (v - t_fin) / 1e9 for k, v in seen.items() if v - t_fin > 1e9}
    assert len(seen) == 3 and not late, (seen, late)
    # at the FIN's time: the scenario's close() on loopback, and the kernel's
    # own TIME_WAIT timer, which started at the FIN (clock_t: 10 ms)
    assert 0 <= sw["ts_ns"] - t_fin < 50e6, (sw["ts_ns"] - t_fin) / 1e6
    assert fin_ns is not None
    assert abs(sw["ts_ns"] - fin_ns) < 25e6, (sw["ts_ns"] - fin_ns) / 1e6
    assert_close_ms(sw["dwell_ns"] / 1e6, (sw["ts_ns"] - c[-2]["ts_ns"]) / 1e6, "FIN_WAIT2(tw)")
    if peer == "slow":
        assert_close_ms(sw["dwell_ns"] / 1e6, (t_fin - r["client"]["t_close"]) / 1e6,
                        "FIN_WAIT2(tw) until the peer's FIN", abs_ms=50)
    total_d = [x for x in d.records() if x["type"] == "dwell" and x["span"] == "total"][0]
    h = total_d["states"]["FIN_WAIT2(tw)"]
    # the same switch: each tracer's own programs read the clock at the
    # entry and at the switch, one after the other; on a TCG guest whose
    # vCPU the host preempts that is milliseconds apart (4.4 and 7.1 ms
    # seen with the host busy), as the 25 ms above allows for the FIN
    assert h["count"] == 1 and abs(h["max_ns"] - sw["dwell_ns"]) < 25e6, \
        (h["max_ns"] - sw["dwell_ns"]) / 1e6
    assert total(samples, "tcpdwell_transitions_total",
                 **{"from": "FIN_WAIT2(tw)", "to": "TIME_WAIT"}) == 1


def test_timewait_killed_without_a_cause(netns, tracer):
    """`ss -K` destroys a TIME_WAIT socket (tcp_abort): no new connection and
    no RST follow. It ends as killed, dated at the kill, once the claim
    window (TD_TW_CLAIM_NS, 2 s) has passed; a tracer stopped within the
    window cannot know the cause and says unknown."""
    path = "/run/netns/" + netns.name
    t = tracer("trace", "--netns", path)
    u = tracer("trace", "--netns", path)
    # The client's TIME_WAIT, from the server's FIN. The kernel may reset
    # it first: the server's delayed pure ACK, sent from another CPU's
    # backlog, can reach it after the FIN; the TIME_WAIT answers that old
    # segment with an ACK, the server's listener answers with a RST, and
    # the RST kills the TIME_WAIT (RFC 1337 assassination; seen in a 6.12
    # guest 10 ms after the TIME_WAIT began). Then a new one, up to 5.
    for attempt in range(1, 6):
        r = netns.scenario("client_close", 0, 0)
        key = (r["client"]["lport"], r["server"]["port"])
        wait_until(lambda: sockstat_tw(netns) >= 1 or key in tw_ends_of(t, netns), 30,
                   "the client's TIME_WAIT")
        t0 = time.monotonic_ns()
        k = netns.run("ss", "-K", "-tanH", "state", "time-wait", check=True,
                      capture_output=True, text=True).stdout
        t1 = time.monotonic_ns()
        if ":%d " % key[0] in k:  # ss -K lists what it destroyed
            break
        left = netns.run("ss", "-tanH", "state", "time-wait", check=True,
                         capture_output=True, text=True).stdout
        if ":%d " % key[0] in left and key not in tw_ends_of(t, netns):
            # this kernel cannot destroy a TIME_WAIT through sock_diag
            # (measured on Debian's 5.10: ss -K lists none and the socket
            # stays): it lives on, and tcpdwell must not have ended it
            t.stop()
            assert key not in tw_ends_of(t, netns), t.events(netns)
            assert sockstat_tw(netns) >= 1
            return
        ends = wait_until(lambda: tw_ends_of(t, netns).get(key), 30, "the reset TIME_WAIT's end")
        assert ends[0]["end"] == "reset", (k, ends)
    else:
        raise AssertionError("5 TIME_WAITs reset before ss -K")
    assert sockstat_tw(netns) == 0
    u.stop()
    got = wait_tw_ends(t, netns, attempt)
    seen = time.monotonic_ns()
    t.stop()
    assert len(got) == attempt and key in got, got
    assert all(v[0]["end"] == "reset" for k_, v in got.items() if k_ != key), got
    end = got[key][0]
    assert end["end"] == "killed" and end["old"] == "TIME_WAIT"
    assert t0 <= end["ts_ns"] <= t1
    assert seen - t0 >= 2e9  # told only once nothing could still name a cause
    early = [e for e in u.events(netns) if e["type"] == "state" and e["timewait"]
             and e["new"] == "CLOSE" and e["lport"] == key[0]]
    assert len(early) == 1 and t0 <= early[0]["ts_ns"] <= t1
    # under valgrind the stop itself may outlast the window
    assert early[0]["end"] == "unknown" or (WRAP and early[0]["end"] == "killed"), early

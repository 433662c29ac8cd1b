"""`tcpdwell timewait`: the census against the kernel's own numbers.

Ground truth: /proc/net/sockstat's tw of the test namespace, `ss` for the
tuples, and the shape the census scenario generated (servers, orphans,
open connections, the namespace's port range).
"""
import json
import math
import os
import re
import subprocess
import time
from collections import Counter

import pytest

from conftest import BIN, PYTHON, READY_S, SCENARIO, Netns, sockstat_tw, wait_until

RANGE = (20000, 39999)  # 20 000 ephemeral ports in the test namespace


def ss_timers(ns, state):
    """{(laddr, lport, raddr, rport): ms left on the timer} of the
    namespace's sockets in `state`, as `ss -o` prints it."""
    out = ns.run("ss", "-Htano", "state", state, capture_output=True, text=True,
                 check=True).stdout
    res = {}
    unit = {"min": 60000, "sec": 1000, "ms": 1}
    for line in out.splitlines():
        f = line.split()
        addrs = [x for x in f if ":" in x and not x.startswith("timer:")][-2:]
        (la, lp), (ra, rp) = (x.rsplit(":", 1) for x in addrs)
        m = re.search(r"timer:\(\w+,([^,]+),", line)
        left = sum(int(n) * unit[u] for n, u in re.findall(r"(\d+)(min|sec|ms)", m.group(1))) \
            if m else None
        res[(la.strip("[]"), int(lp), ra.strip("[]"), int(rp))] = left
    return res


def ss_tuples(ns, state):
    """(laddr, lport, raddr, rport) of the namespace's sockets in `state`."""
    return set(ss_timers(ns, state))


def prepare(ns, tw_reuse=0):
    ns.sysctl("net.ipv4.ip_local_port_range", "%d %d" % RANGE)
    # no reuse: connect() must not recycle the TIME_WAITs the test counts
    ns.sysctl("net.ipv4.tcp_tw_reuse", str(tw_reuse))
    # nor overflow: a new namespace's default depends on the kernel and RAM
    ns.sysctl("net.ipv4.tcp_max_tw_buckets", "262144")
    # nor assassination: on a slow machine (the TCG guest) a server's FIN
    # retransmitted past the first ACK gets a duplicate ACK from the
    # client's TIME_WAIT, which the listener answers with a RST that, with
    # tcp_rfc1337=0, kills that TIME_WAIT (one of 20 250 went so in a
    # guest run: gone from ss, sockstat and tcpdwell alike)
    ns.sysctl("net.ipv4.tcp_rfc1337", "1")


class Population:
    """The census scenario running in ns, holding its sockets until close()."""

    def __init__(self, ns, n, dests, orphans=0, established=0, v6=0):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns.name, PYTHON, SCENARIO, "census", str(n), str(dests),
             str(orphans), str(established), str(v6)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line, "census scenario failed (rc=%s)" % self.proc.wait()
        self.shape = json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def census_once(*args):
    p = subprocess.run([BIN, "timewait", "--once", "-o", "json", *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    recs = [json.loads(l) for l in p.stdout.splitlines()]
    return [r for r in recs if r["type"] == "timewait"], \
        [r for r in recs if r["type"] == "timewait_socket"]


def test_census_20000_matches_sockstat_ss_and_the_generated_shape(netns):
    prepare(netns)
    t0 = time.monotonic()
    pop = Population(netns, 20000, 4, orphans=50, established=25, v6=200)
    try:
        t_census = time.monotonic()
        reports, socks = census_once("--netns", "/run/netns/" + netns.name, "--verify",
                                     "--sockets", "--top", "5", "--warn-pct", "20")
        tw_truth = sockstat_tw(netns)
        ss_left = ss_timers(netns, "time-wait")
        between_ms = (time.monotonic() - t_census) * 1000  # seconds in a TCG guest
        ss_tw = set(ss_left)
        ss_fw2 = ss_tuples(netns, "fin-wait-2")
        span_ms = (time.monotonic() - t0) * 1000
    finally:
        pop.close()
    shape = pop.shape
    assert len(reports) == 1
    r = reports[0]
    # the count: sockstat's tw, both substates, IPv4 and IPv6 (should one
    # ever be missing, say which and how long the population took: TIME_WAIT
    # lasts 60 s)
    gone = {tuple(t) for t in shape["timewait"]} - ss_tw
    assert r["count"] == r["sockstat_tw"] == tw_truth == 20000 + 200 + 50, \
        (r["count"], r["sockstat_tw"], tw_truth, span_ms, sorted(gone)[:5])
    assert r["substates"] == {"TIME_WAIT": 20200, "FIN_WAIT2": 50}
    assert r["warnings"] and not any("sockstat" in w for w in r["warnings"])
    # the tuples: TIME_WAIT as ss lists them; the FIN_WAIT2 substate (which
    # `ss state time-wait` leaves out) as the scenario orphaned them
    mine = {s["state"]: set() for s in socks}
    for s in socks:
        mine[s["state"]].add((s["laddr"], s["lport"], s["raddr"], s["rport"]))
    assert mine["TIME_WAIT"] == ss_tw == {tuple(t) for t in shape["timewait"]}
    assert mine["FIN_WAIT2"] == {tuple(t) for t in shape["fin_wait2"]}
    assert ss_fw2 >= mine["FIN_WAIT2"]  # ss shows them as FIN-WAIT-2 (with the held peers' side)
    # every socket has its timer reading, as ss -o shows it (read up to
    # between_ms later, rounded down to its unit), and an age no older than
    # the test
    for s in socks:
        if s["state"] != "TIME_WAIT":
            continue
        ss_ms = ss_left[(s["laddr"], s["lport"], s["raddr"], s["rport"])]
        assert s["left_ms"] is not None and \
            -1000 < s["left_ms"] - ss_ms < between_ms + 1000, (s, ss_ms, between_ms)
        assert s["age_ms"] is not None and s["age_ms"] <= span_ms + 100, (s, span_ms)
    # top peers: 5000 per IPv4 server, 200 to ::1, 50 to the orphans' server
    peers = {p["addr"]: p["count"] for p in r["top_peers"]}
    assert peers == {"127.0.0.2": 5000, "127.0.0.3": 5000, "127.0.0.4": 5000,
                     "127.0.0.5": 5000, "::1": 200}
    assert r["peers_total"] == 6
    # top local ports: the busiest ephemeral ports, counted from ss's tuples
    truth = Counter(t[1] for t in ss_tw | mine["FIN_WAIT2"])
    top = r["top_local_ports"]
    assert len(top) == 5 and top[0]["count"] == max(truth.values())
    assert all(truth[p["port"]] == p["count"] for p in top)
    assert r["local_ports_total"] == len(truth)
    # port pressure against the namespace's range: 5000 (+25 open) of 20000
    assert r["port_range"] == list(RANGE) and r["tcp_tw_reuse"] == 0
    rows = {(p["raddr"], p["rport"]): p for p in r["port_pressure"]}
    first = rows[("127.0.0.2", shape["port"])]
    assert (first["timewait"], first["in_use"]) == (5000, 25)
    assert first["pct"] == pytest.approx(100 * 5025 / 20000, abs=0.01)
    for d in ("127.0.0.3", "127.0.0.4", "127.0.0.5"):
        assert (rows[(d, shape["port"])]["timewait"], rows[(d, shape["port"])]["in_use"]) == \
            (5000, 0)
    assert r["destinations_total"] == 6  # 4 servers, ::1, the orphans' server
    # above --warn-pct 20: the four IPv4 servers, with the reuse setting named
    warned = [w for w in r["warnings"] if "ephemeral ports" in w]
    assert len(warned) == 4 and all("tcp_tw_reuse=0" in w for w in warned)


def reports_so_far(t):
    """The census reports the tracer has written so far."""
    return [r for r in t.records_so_far() if r["type"] == "timewait"]


def test_census_live_snapshot_then_entries(netns, tracer):
    prepare(netns)
    before = netns.scenario("many_client_close", 100)
    t = tracer("timewait", "--netns", "/run/netns/" + netns.name, "-i", "0.03", "--verify")
    # the snapshot is out before the churn starts
    t.wait_output('"type":"timewait"')
    after = netns.scenario("many_client_close", 3000)  # while reports are taken
    def after_churn():  # a report read with all there (sockstat's), ten at least
        rs = reports_so_far(t)
        return len(rs) >= 10 and rs[-1]["sockstat_tw"] == 3100
    wait_until(after_churn, 30 + READY_S, "a report taken after the churn",
               alive=lambda: t.proc.poll() is None)
    t.stop()
    truth = sockstat_tw(netns)
    assert t.clean(), t.stderr
    reports = [r for r in t.records() if r["type"] == "timewait"]
    assert len(reports) >= 10
    # the first report is the snapshot: the 100 older sockets, dated by their timer
    assert reports[0]["count"] == reports[0]["sockstat_tw"] == 100
    assert reports[0]["age"]["estimated"] == 100
    # every report agrees with sockstat at the moment it was read, also
    # those taken while sockets were entering; the last one with the kernel now
    moving = [r for r in reports if 100 < r["sockstat_tw"] < 3100]
    assert moving, "no report was taken during the churn"
    off = [(i, r["count"], r["census_at_sockstat"], r["sockstat_tw"], r["warnings"])
           for i, r in enumerate(reports)
           if r["census_at_sockstat"] != r["sockstat_tw"] or r["warnings"]]
    assert not off, (len(reports), off[:5])
    assert reports[-1]["count"] == truth == 3100
    assert sum(r["entered"] for r in reports) == 3000
    assert sum(sum(r["ended"].values()) for r in reports) == 0
    assert len(before["client"]["lports"]) + len(after["client"]["lports"]) == 3100


def test_connect_failures_beside_the_ports_held(netns, tracer):
    """Each connect() that failed for want of a port counts for its
    destination's row, beside the ports held there, and warns with the
    range and the reuse setting; the rows' failures add up to the
    scenario's EADDRNOTAVAIL answers."""
    prepare(netns)
    t = tracer("timewait", "--netns", "/run/netns/" + netns.name, "-i", "0.05")
    t.wait_output('"type":"timewait"')
    r = netns.scenario("port_exhaustion", 3)
    cl, port = r["client"], r["server"]["port"]
    assert cl["no_port"] == 3 and cl["in_use"] == 1, cl
    wait_until(lambda: sum(x["connect_failures"] for x in reports_so_far(t)) >= 4, 30,
               "the failures in a report", alive=lambda: t.proc.poll() is None)
    t.stop()
    reports = [x for x in t.records() if x["type"] == "timewait"]
    assert sum(x["connect_failures"] for x in reports) == 4
    rows = [p for x in reports for p in x["port_pressure"] if p["connect_failed"]]
    assert {(p["raddr"], p["rport"]) for p in rows} == {("127.0.0.1", port)}, rows
    assert sum(p["connect_failed"] for p in rows) == 4
    warned = [w for x in reports for w in x["warnings"] if "connect() calls failed" in w]
    assert warned and all("40000-40003" in w and "tcp_tw_reuse=0" in w for w in warned), warned


def test_port_exhaustion_forecast_then_failures(netns, tracer):
    """Driven to exhaustion: 400 connections to one destination leave 400
    of its 1000 ephemeral ports in TIME_WAIT; a report gives the entry rate
    (over the last 10 s: 40/s, whose steady state, 2400, exceeds the range)
    and forecasts the ports running out, naming the sysctls; then the same
    destination uses the rest up, and each connect() that finds no port
    counts for it."""
    netns.sysctl("net.ipv4.ip_local_port_range", "40000 40999")
    netns.sysctl("net.ipv4.tcp_tw_reuse", "0")
    netns.sysctl("net.ipv4.tcp_max_tw_buckets", "262144")
    t = tracer("timewait", "--netns", "/run/netns/" + netns.name, "-i", "0.5")
    t.wait_output('"type":"timewait"')
    port = 5555  # outside the range: the server holds none of it
    netns.scenario("many_client_close", 400, env={"TD_PORT": str(port)})
    def forecast():
        return [p for x in reports_so_far(t) for p in x["port_pressure"]
                if p["rport"] == port and p["exhausted_in_s"] is not None]
    wait_until(forecast, 30, "a report forecasting the exhaustion",
               alive=lambda: t.proc.poll() is None)
    p = forecast()[0]
    rep = [x for x in reports_so_far(t) if p in x["port_pressure"]][0]
    # the rate over the report's span, and the model's own time
    # the rate is over the last 10 s: all 400 entered within them
    assert p["entry_rate"] * 10 == pytest.approx(p["timewait"], abs=0.05) and \
        p["timewait"] >= 1, p
    rate, held = p["entry_rate"], p["timewait"] + p["in_use"]
    steady = rate * 60
    assert steady > 1000 and p["exhausted_in_s"] == pytest.approx(
        60 * math.log((steady - p["timewait"]) / (steady - (1000 - p["in_use"]))), abs=0.1), p
    warned = [w for w in rep["warnings"] if "run out in about" in w]
    assert len(warned) == 1, rep["warnings"]
    for sysctl in ("ip_local_port_range=40000-40999", "tcp_tw_reuse=0",
                   "tcp_max_tw_buckets=262144"):
        assert sysctl in warned[0], warned[0]
    assert held <= 1000
    # now to the end: every further connect() that found no port, counted
    r = netns.scenario("fill_ports", 5, env={"TD_PORT": str(port)})["client"]
    assert r["failed"] == 5 and r["made"] + 400 == 1000, r
    wait_until(lambda: sum(x["connect_failures"] for x in reports_so_far(t)) >= 5, 30,
               "the failures in a report", alive=lambda: t.proc.poll() is None)
    t.stop()
    reports = [x for x in t.records() if x["type"] == "timewait"]
    assert sum(x["connect_failures"] for x in reports) == 5
    full = [p for x in reports for p in x["port_pressure"]
            if p["rport"] == port and p["connect_failed"]]
    assert full and all(p["timewait"] == 1000 and p["pct"] == 100.0 for p in full), full


def test_census_live_sees_the_end_of_a_snapshot_socket(netns, tracer):
    """A timewait socket older than tcpdwell, killed by tw_reuse, leaves the
    count: the snapshot entered it into the kernel's timewait map."""
    prepare(netns, tw_reuse=1)
    # TIME_WAIT at once, the same port again once tcpdwell's first report
    # (its snapshot) is out and tw_reuse's 1 s has passed (the new
    # connection then closes first too: a second TIME_WAIT)
    scen = subprocess.Popen(["ip", "netns", "exec", netns.name, PYTHON, SCENARIO, "tw_reuse",
                             "-1.1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    # the first TIME_WAIT is there before tcpdwell
    wait_until(lambda: sockstat_tw(netns) >= 1, 30, "the first TIME_WAIT",
               alive=lambda: scen.poll() is None)
    t = tracer("timewait", "--netns", "/run/netns/" + netns.name, "-i", "0.3", "--verify")
    t.wait_output('"type":"timewait"')
    res = json.loads(scen.communicate("go\n", timeout=30)[0])
    def reported():  # the reuse and the new TIME_WAIT
        rs = reports_so_far(t)
        return sum(r["ended"]["reused"] for r in rs) >= 1 and sum(r["entered"] for r in rs) >= 1
    wait_until(reported, 30 + READY_S, "the reuse reported",
               alive=lambda: t.proc.poll() is None)
    t.stop()
    reports = [r for r in t.records() if r["type"] == "timewait"]
    assert reports[0]["count"] == 1 and reports[0]["age"]["estimated"] == 1
    assert sum(r["ended"]["reused"] for r in reports) == 1
    assert sum(r["ended"]["untracked"] for r in reports) == 0
    assert sum(r["entered"] for r in reports) == 1
    assert all(r["count"] == r["sockstat_tw"] for r in reports)
    assert reports[-1]["count"] == sockstat_tw(netns) == 1
    assert res["client"]["lport"]


def test_census_all_netns(netns, bpf):
    other = Netns()
    try:
        prepare(netns)
        prepare(other)
        netns.scenario("many_client_close", 30)
        other.scenario("many_client_close", 70)
        reports, _ = census_once("--all-netns", "--verify")
        by = {r["netns"]: r for r in reports}
        assert by[netns.inum]["count"] == by[netns.inum]["sockstat_tw"] == 30
        assert by[other.inum]["count"] == by[other.inum]["sockstat_tw"] == 70
        assert by[other.inum]["name"] == other.name
        assert os.stat("/proc/self/ns/net").st_ino in by  # its own one too
        for r in reports:
            assert r["count"] == r["sockstat_tw"], r
    finally:
        other.delete()


@pytest.mark.parametrize("args,msg", [
    (["timewait", "--netns", "4000000000"], "not found"),
    (["timewait", "--netns", "/proc/self/ns/net", "--all-netns"], "not both"),
    (["trace", "--once"], "an option of timewait"),
    (["timewait", "--warn-pct", "0"], "bad --warn-pct"),
    (["timewait", "--top", "x"], "bad --top"),
    (["timewait", "--once", "-d", "1"], "no duration"),
])
def test_census_bad_input(bpf, args, msg):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert msg in p.stderr and len(p.stderr.strip().splitlines()) == 1


def bpf_fds(pid):
    """Whether the process holds a BPF map or program open."""
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("anon_inode:bpf-"):
                return True
        except OSError:
            pass
    return False


@pytest.mark.parametrize("when", ["after_two_reports", "while_starting"])
def test_census_namespace_deleted_ends_the_run(bpf, when):
    """The namespace asked for is deleted: the run ends with exit 1 and says
    so, also when that happens before its first snapshot (it once went on
    forever, trying to enter it every interval)."""
    ns = Netns()
    try:
        p = subprocess.Popen([BIN, "timewait", "--netns", "/run/netns/" + ns.name, "-i", "0.2"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if when == "while_starting":
            # its BPF maps exist: the namespace was found, its snapshot is
            # still to come (the load takes a while)
            # (libbpf's feature probes open and close fds: the first seen
            # counts, it may be gone by the time it is looked at again)
            deadline, seen = time.monotonic() + 60, False
            while not seen and p.poll() is None and time.monotonic() < deadline:
                seen = bpf_fds(p.pid)
                # a poll interval: fds of libbpf's probes live for moments
                time.sleep(0 if seen else 0.005)
            assert seen, "no BPF map or program opened"
        else:
            reports = []
            while len(reports) < 2:
                line = p.stdout.readline()
                assert line, "tracer ended before two reports"
                reports += [line] if "timewait netns %d" % ns.inum in line else []
    finally:
        ns.delete()
    out, err = p.communicate(timeout=30)
    assert p.returncode == 1, err
    assert "network namespace %d (%s) is gone" % (ns.inum, ns.name) in err

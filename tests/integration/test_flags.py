"""Flags docs/flags.md promises, each exercised with traffic that must and must
not show."""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import BIN, READY_S, Netns, exited_clean, gated, release


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


ACCEPT_PROGS = {"fentry": {"td_accept_fentry"}, "kprobe": {"td_accept_kprobe"},
                "tracepoint": {"td_exit_accept", "td_exit_accept4"}, "none": set()}
ACCEPT_TARGETS = {"fentry": "fentry/security_sock_graft",
                  "kprobe": "kprobe/security_sock_graft",
                  "tracepoint": "syscalls:sys_exit_accept*"}
# hooks the environment promises (the guest: fentry and kprobes work there),
# so a hook that is not available cannot pass unnoticed where it must be
REQUIRED_HOOKS = {h for h in os.environ.get("TCPDWELL_REQUIRE_HOOKS", "").split(",") if h}
KPROBE_PMU = "/sys/bus/event_source/devices/kprobe"


_HOOKS = {}


@pytest.fixture
def accept_hooks(bpf):
    """Which of fentry and kprobe attach here: tcpdwell runs with each
    forced, or refuses it with one line and exit 2 (asked once)."""
    if _HOOKS:
        return _HOOKS
    works = {}
    for hook in ("fentry", "kprobe"):
        p = subprocess.run([BIN, "trace", "--accept-hook", hook, "-d", "0.01"],
                           capture_output=True, text=True, timeout=60 + READY_S)
        works[hook] = p.returncode != 2
        if works[hook]:
            assert exited_clean(p.returncode, p.stderr), p.stderr
        else:
            assert p.stderr.startswith("tcpdwell: --accept-hook %s: not available here ("
                                       % hook) and p.stderr.count("\n") == 1, p.stderr
    missing = REQUIRED_HOOKS - {h for h, ok in works.items() if ok}
    assert not missing, "accept hooks this environment must have: %s" % works
    if not os.path.exists(KPROBE_PMU):
        assert not works["kprobe"]
    _HOOKS.update(works)
    return works


def prefork_events(netns, tracer, args, blocked):
    """The prefork scenario traced with args: its server child's events
    and the scenario's result. blocked: the worker already sleeps in
    accept() when the tracer attaches."""
    if not blocked:
        t = tracer("trace", *args, "--netns", str(netns.inum))
        r = netns.scenario("prefork")
    else:
        p = gated(netns, "prefork", env={"TD_BLOCKED": "1"})
        p.stdin.write("go\n")  # the scenario's own start gate
        p.stdin.flush()
        assert p.stdout.readline() == "blocked\n"
        t = tracer("trace", *args, "--netns", str(netns.inum))
        r = release(p)[0]
    t.stop()
    assert t.clean(), t.stderr
    srv, cl = r["server"], r["client"]
    # transitions only: a slow guest can retransmit on the way (no "new")
    s = [e for e in t.events() if e["type"] == "state" and
         (e["lport"], e["rport"]) == (srv["port"], cl["lport"])]
    assert [e["new"] for e in s][-2:] == ["LAST_ACK", "CLOSE"], s
    return t, r, s


@pytest.mark.parametrize("hook,blocked", [
    ("auto", False), ("fentry", False), ("kprobe", False), ("tracepoint", False),
    ("none", False), ("no-tracepoint", False), ("auto", True), ("kprobe", True)])
def test_accept_hook(netns, tracer, accept_hooks, hook, blocked):
    """A pre-fork server: the listener is the scenario's, a forked worker
    accepts. Each accept() hook names the worker once it has accepted,
    also when the worker was already blocked in accept() as tcpdwell
    attached; none leaves the listener's owner. auto takes the first that
    works of fentry, kprobe and tracepoint (not tracepoint with
    --no-accept-tracepoint); a hook this kernel refuses is an exit 2."""
    works = accept_hooks
    if hook in works and not works[hook]:
        return  # the fixture checked the refusal
    if hook == "auto":
        used = next((h for h in ("fentry", "kprobe") if works[h]), "tracepoint")
        args = []
    elif hook == "no-tracepoint":
        used = next((h for h in ("fentry", "kprobe") if works[h]), "none")
        args = ["--no-accept-tracepoint"]
    else:
        used, args = hook, ["--accept-hook", hook]
    t, r, s = prefork_events(netns, tracer, args, blocked)
    srv = r["server"]
    # the listener's owner until accept(), the worker's after; a listener
    # older than the tracer (blocked) was found in /proc at start: its
    # holder of lowest pid, the server that forked the worker
    assert s[0]["owner"] == "listener" and s[0]["pid"] == srv["pid"], s
    want = ("listener", srv["pid"]) if used == "none" else ("accept", srv["worker"])
    assert (s[-1]["owner"], s[-1]["pid"]) == want, (used, s)
    progs = {p["name"] for p in t.loss()["programs"]}
    assert "td_set_state" in progs
    assert progs & set().union(*ACCEPT_PROGS.values()) == ACCEPT_PROGS[used], (used, progs)
    if hook == "auto" and not blocked:  # doctor names the hook auto takes
        d = json.loads(subprocess.run([BIN, "doctor", "-o", "json"], capture_output=True,
                                      text=True, timeout=60 + READY_S).stdout)
        c = {c["check"]: c for c in d["checks"]}["accept() attribution"]
        assert c["detail"].startswith(ACCEPT_TARGETS[used] + ":"), c
        assert c["status"] == ("degraded" if used == "tracepoint" else "ok"), c

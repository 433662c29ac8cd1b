"""A TIME_WAIT that really expires after the kernel's 60 s (TCP_TIMEWAIT_LEN),
seen by trace, timeline and dwell. Started at session start by conftest.py
so the suite does not wait for it serially; collected last."""
import json
import time

import pytest

from conftest import EXPIRY, READY_S, assert_close_ms, one_socket, transitions, wait_until

TW_MS = 60000.0
# the timer wheel rounds a 60 s timer up by up to 512 jiffies (2.048 s at HZ=250)
SLACK_MS = 2100.0


class NewRecords:
    """A tracer's records as it writes them, each read once (trace and
    timeline watch the whole suite when not under valgrind: megabytes), through
    a file description of its own (a seek on t.out would move the tracer's)."""

    def __init__(self, t):
        self.f = open("/proc/self/fd/%d" % t.out.fileno())
        self.part = ""

    def __call__(self, needle):
        """The new whole records whose line holds `needle`."""
        lines = (self.part + self.f.read()).split("\n")
        self.part = lines.pop()
        return [json.loads(l) for l in lines if needle in l]


def test_timewait_expires_after_60s(bpf):
    if "error" in EXPIRY:
        pytest.fail("expiry scenario failed to start: " + EXPIRY["error"])
    if "tracers" not in EXPIRY:
        pytest.fail("expiry scenario did not start (TCPDWELL_SKIP_EXPIRY=1?)")
    ns, port, r = EXPIRY["ns"], EXPIRY["port"], EXPIRY["result"]
    cl = r["client"]
    # until the expiry is out of the tracers that write as they go: the
    # end in trace, the connection in timeline, a census that counts it
    # (dwell writes its histograms when stopped, after a last drain, and
    # the census its last word then)
    tracers, seen = EXPIRY["tracers"], set()
    new = {k: NewRecords(tracers[k]) for k in ("trace", "timeline", "timewait")}
    mine = lambda x: x["netns"] == ns.inum and (x["lport"], x["rport"]) == (cl["lport"], port)

    def expired():
        if any(x["type"] == "state" and mine(x) for x in new["trace"]('"expired"')):
            seen.add("trace")
        if any(x["type"] == "connection" and mine(x) for x in new["timeline"]('"expired"')):
            seen.add("timeline")
        if any(x["type"] == "timewait" and x["ended"]["expired"]
               for x in new["timewait"]('"timewait"')):
            seen.add("timewait")
        return len(seen) == 3
    left = EXPIRY["t_done"] + 60 + SLACK_MS / 1000 - time.time()
    try:
        wait_until(expired, max(left, 0) + 30 + READY_S, "the 60 s expiry written")
    except AssertionError as e:
        raise AssertionError("%s: seen by %s" % (e, sorted(seen)))
    for x in new.values():
        x.f.close()
    tr = {k: t.stop() for k, t in tracers.items()}

    c = one_socket(tr["trace"].events(ns), lport=cl["lport"], rport=port)
    assert transitions(c)[-3:] == [("FIN_WAIT2", "FIN_WAIT2(tw)"),
                                   ("FIN_WAIT2(tw)", "TIME_WAIT"), ("TIME_WAIT", "CLOSE")]
    end = c[-1]
    assert end["end"] == "expired" and end["timewait"]
    tw_ms = end["dwell_ns"] / 1e6
    assert TW_MS <= tw_ms <= TW_MS + SLACK_MS, tw_ms
    assert_close_ms(tw_ms, TW_MS, "TIME_WAIT until expiry")

    conns = [x for x in tr["timeline"].records()
             if x["type"] == "connection" and x["netns"] == ns.inum
             and (x["lport"], x["rport"]) == (cl["lport"], port)]
    assert len(conns) == 1, conns
    tl = conns[0]
    assert tl["complete"] and tl["end"] == "expired" and tl["closed_first"] == "local"
    assert tl["opened"] == "active" and tl["pid"] == cl["pid"]
    # the switch at the peer's FIN, 0.2 s after the client's close, then 60 s
    left = {e["old"]: e for e in tl["events"] if e["type"] == "state"}
    assert_close_ms(left["FIN_WAIT2(tw)"]["dwell_ns"] / 1e6,
                    (r["server"]["t_close"] - cl["t_close"]) / 1e6, "FIN_WAIT2(tw)", abs_ms=20)
    assert abs(left["TIME_WAIT"]["dwell_ns"] - end["dwell_ns"]) < 1e6  # its own timestamps
    assert_close_ms(tl["lifetime_ns"] / 1e6, (end["ts_ns"] - c[0]["ts_ns"]) / 1e6, "lifetime")

    totals = [x for x in tr["dwell"].records() if x["type"] == "dwell" and x["span"] == "total"]
    assert len(totals) == 1
    h = totals[0]["states"]["TIME_WAIT"]
    assert h["count"] == 1
    # another tracer instance, its own timestamps: a few µs apart
    assert abs(h["max_ns"] - end["dwell_ns"]) < 1e6
    assert_close_ms(h["p50_ns"] / 1e6, TW_MS, "dwell TIME_WAIT p50", rel=0.05)
    fw = totals[0]["states"]["FIN_WAIT2(tw)"]
    assert fw["count"] == 1
    assert_close_ms(fw["max_ns"] / 1e6, (r["server"]["t_close"] - cl["t_close"]) / 1e6,
                    "dwell FIN_WAIT2(tw)", abs_ms=20)

    # the census: one entry (the substate switch is not a second), one
    # expiry, and the namespace's sockstat agreeing all along
    census = [x for x in tr["timewait"].records() if x["type"] == "timewait"]
    assert sum(x["entered"] for x in census) == 1
    assert sum(x["ended"]["expired"] for x in census) == 1
    assert sum(sum(x["ended"].values()) for x in census) == 1
    assert all(x["count"] == x["sockstat_tw"] for x in census)
    assert census[-1]["count"] == 0 and max(x["count"] for x in census) == 1
    for t in tr.values():
        assert t.clean(), t.stderr

"""Owner filters in the kernel: --pid, --comm, --cgroup select connections
by the process that created them (not by whoever was on the CPU), and an
unrelated process's traffic in the same namespace, at the same time, is
not reported. IPv4 and IPv6."""
import os
import subprocess

import pytest

from conftest import gated, release

def lports(evs):
    return {e["lport"] for e in evs} | {e["rport"] for e in evs}


@pytest.mark.parametrize("six", [False, True])
def test_pid_filter(netns, tracer, six):
    fam = ["-6"] if six else []
    mine = gated(netns, "many_client_close", 5, *fam)
    other = gated(netns, "many_client_close", 5, *fam)
    t = tracer("trace", "--netns", "/run/netns/" + netns.name, "--pid", str(mine.pid))
    release(mine, other)
    t.stop()
    evs = t.events(netns)
    assert evs and all(e["pid"] == mine.pid for e in evs)
    # all of its connections: 5 clients and 5 accepted ones, each to the end
    assert len({e["cookie"] for e in evs if e["type"] == "state"}) == 11  # + the listener
    assert all(e["family"] == (6 if six else 4) for e in evs)


def test_comm_filter(netns, tracer):
    keep = gated(netns, "many_client_close", 4, env={"TD_COMM": "tdkeep"})
    skip = gated(netns, "many_client_close", 4, env={"TD_COMM": "tdskip"})
    t = tracer("timeline", "--netns", "/run/netns/" + netns.name, "--comm", "tdkeep")
    release(keep, skip)
    t.stop()
    conns = [c for c in t.records() if c["type"] == "connection"]
    assert len(conns) == 8 and all(c["comm"] == "tdkeep" for c in conns)


def test_cgroup_filter(netns, tracer, cgroup2):
    cg = os.path.join(cgroup2, "tdtest-%d" % os.getpid())
    os.mkdir(cg)
    try:
        inside = gated(netns, "many_client_close", 3,
                       pre="echo $$ > %s/cgroup.procs" % cg)
        outside = gated(netns, "many_client_close", 3)
        t = tracer("dwell", "--netns", "/run/netns/" + netns.name, "--cgroup", cg)
        release(inside, outside)
        t.stop()
        total = [r for r in t.records() if r["type"] == "dwell" and r["span"] == "total"]
        # 3 connections, both ends: one ESTABLISHED dwell each end, and the
        # listener's LISTEN; nothing from the process outside
        assert total[0]["states"]["ESTABLISHED"]["count"] == 6
        assert total[0]["states"]["LISTEN"]["count"] == 1
    finally:
        os.rmdir(cg)


@pytest.mark.parametrize("args,msg", [
    (["trace", "--pid", "x"], "bad --pid"),
    (["trace", "--pid", ",".join(str(i) for i in range(1, 70))], "at most 64"),
    (["trace", "--comm", "a" * 16], "bad --comm"),
    (["trace", "--cgroup", "/tmp"], "cgroup v2"),
    (["timewait", "--once", "--comm", "x"], "live census"),
    (["timewait", "--verify", "--pid", "1"], "takes no filters"),
    (["trace", "--follow"], "add --pid"),
])
def test_owner_filter_bad_input(bpf, args, msg):
    from conftest import BIN
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and msg in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr

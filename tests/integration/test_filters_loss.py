"""Kernel-side filters, and loss accounting under a ring buffer that is too
small on purpose."""
import random

from conftest import one_socket, transitions


def test_family_filter(netns, tracer):
    t = tracer("trace", "-6")
    r4 = netns.scenario("client_close", 0, 0)
    r6 = netns.scenario("client_close", 0, 0, "-6")
    t.stop()
    evs = t.events(netns)
    assert evs and all(e["family"] == 6 for e in evs)
    assert not [e for e in evs if e["rport"] == r4["server"]["port"]]
    one_socket(evs, lport=r6["client"]["lport"], rport=r6["server"]["port"])


def test_port_filters(netns, tracer):
    port = random.randint(20000, 30000)
    other = port + 1
    env = {"TD_PORT": str(port)}
    tl = tracer("trace", "--lport", "%d,%d-%d" % (port - 5, port, port))
    tr = tracer("trace", "--rport", str(port))
    tn = tracer("trace", "--rport", str(port), "--lport", "1-1024")
    r = netns.scenario("client_close", 0, 0, env=env)
    netns.scenario("client_close", 0, 0, env={"TD_PORT": str(other)})
    for t in (tl, tr, tn):
        t.stop()
    cport = r["client"]["lport"]

    lev = tl.events(netns)  # server side only: listener and child
    assert lev and all(e["lport"] == port for e in lev)
    assert transitions(one_socket(lev, rport=cport))[0] == ("LISTEN", "SYN_RECV")
    rev = tr.events(netns)  # client side only
    assert rev and all(e["rport"] == port and e["lport"] == cport for e in rev)
    assert transitions(rev)[0] == ("CLOSE", "SYN_SENT")
    assert tn.events(netns) == []  # --lport AND --rport: nothing matches both


def test_ringbuf_too_small_counts_drops(netns, tracer):
    """4 KiB ring, drained every 2 s, no early wakeup: most events cannot
    fit. Every one is counted, and the exit code says so."""
    n = 300
    t = tracer("trace", "--ringbuf-kb", "4", "--wakeup-pct", "100", flush_ms=2000)
    netns.scenario("churn", n)
    t.stop()  # SIGINT: the last drain happens after the programs are detached
    loss = t.loss()
    assert t.returncode == 4, (t.returncode, t.stderr)
    assert loss["ringbuf_drops"] > 0 and loss["lost"] >= loss["ringbuf_drops"]
    # per connection: 3 client + 2 server transitions, 1 RST sent, 1 RST received
    expected = n * 7 + 2
    mine = len(t.events(netns))
    assert mine < expected
    # every event of ours was either delivered or counted as dropped
    assert mine + loss["ringbuf_drops"] >= expected
    assert loss["delivered"] == loss["events"]

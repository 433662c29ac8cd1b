"""Socket identity (docs/design.md §3.5): the kernel's socket cookies where
tracing programs may read them (5.12+), else ids tcpdwell gives, keyed by
the socket's address and handed to its timewait socket through the 4-tuple.
Here both run side by side on the same scenarios: the same sockets, the same
transitions, owners and ends, told apart only by what they are called."""
import json
import subprocess

import pytest

from conftest import BIN, READY_S, sockets


def stories(evs):
    """Each socket's events without their times (two tracers read the clock
    apart), by the 4-tuples it had, and the ids the tracer gave them."""
    out, ids = {}, {}
    for sid, es in sockets(evs).items():
        if sid == 0:
            continue  # a RST sent for no socket: nobody's
        tuples = tuple(sorted({(e["family"], e["lport"], e["rport"]) for e in es}))
        assert tuples not in out, ("two sockets with the same tuples", tuples)
        out[tuples] = [(e["type"], e.get("old"), e.get("new"), e.get("end"), e["pid"],
                        e["owner"], e.get("kind")) for e in es]
        ids[tuples] = sid
    return out, ids


def test_own_ids_tell_the_same_story_as_cookies(netns, tracer):
    path = "/run/netns/" + netns.name
    auto = tracer("trace", "--netns", path)
    own = tracer("trace", "--netns", path, "--socket-id", "own")
    netns.scenario("client_close", 0, 0.05)  # client TIME_WAIT (via FIN_WAIT2(tw))
    netns.scenario("server_close", 0, 0.05)  # server TIME_WAIT, client LAST_ACK
    netns.scenario("shutdown_then_close", 0.05, 0.05)  # the silent substate switch
    netns.scenario("unread")  # close() with unread data: the RST after -> CLOSE
    netns.scenario("refused")  # a RST for no socket
    own.stop()
    auto.stop()
    assert auto.clean() and own.clean(), (auto.stderr, own.stderr)
    a, a_ids = stories(auto.events(netns))
    o, o_ids = stories(own.events(netns))
    assert o == a
    # 4 listeners, 4 clients, 4 accepted children and the refused client:
    # every one named, none twice
    assert len(o) == 13, sorted(o)
    assert len(set(o_ids.values())) == len(o) and all(o_ids.values()), o_ids
    # the timewait sockets carry their connection's id: their events are in
    # the same story as the full socket's
    tw = [t for t, s in o.items() if any(x[2] in ("TIME_WAIT", "FIN_WAIT2(tw)") for x in s)]
    assert len(tw) == 3, o
    for t in tw:
        assert o[t][0][1:3] in (("CLOSE", "SYN_SENT"), ("LISTEN", "SYN_RECV")), o[t]
    # cookies here, unless this kernel cannot give them
    doc = json.loads(subprocess.run([BIN, "doctor", "-o", "json"], capture_output=True,
                                    text=True, timeout=60 + READY_S).stdout)
    ids = {c["check"]: c for c in doc["checks"]}["socket ids"]
    degraded = auto.loss()["degraded"] or ""
    assert ("socket ids are tcpdwell's own" in degraded) == (ids["status"] == "degraded"), \
        (ids, degraded)
    assert own.loss()["degraded"] is None or "socket ids" not in own.loss()["degraded"]


def timewait_sockets(netns, *args):
    p = subprocess.run([BIN, "timewait", "--once", "--sockets", "-o", "json", "--netns",
                        "/run/netns/" + netns.name, *args], capture_output=True, text=True,
                       timeout=60 + READY_S)
    assert p.returncode == 0, p.stderr
    recs = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    return {(r["lport"], r["rport"]): r["cookie"] for r in recs
            if r["type"] == "timewait_socket"}


def test_own_ids_in_the_census(netns):
    r = netns.scenario("many_client_close", 20)
    auto = timewait_sockets(netns)
    own = timewait_sockets(netns, "--socket-id", "own")
    assert set(own) == set(auto) and len(own) >= 20, (r, own, auto)
    assert all(own.values()) and len(set(own.values())) == len(own), own


@pytest.mark.parametrize("value", ["cookie", "bogus"])
def test_socket_id_choice(bpf, value):
    p = subprocess.run([BIN, "trace", "--socket-id", value, "-d", "0.1"], capture_output=True,
                       text=True, timeout=60 + READY_S)
    doc = json.loads(subprocess.run([BIN, "doctor", "-o", "json"], capture_output=True,
                                    text=True, timeout=60 + READY_S).stdout)
    cookies = {c["check"]: c for c in doc["checks"]}["socket ids"]["status"] == "ok"
    if value == "bogus":
        assert p.returncode == 2 and "bad --socket-id 'bogus'" in p.stderr, p.stderr
    elif cookies:
        assert p.returncode == 0, p.stderr
    else:  # asked for what this kernel cannot give: said, exit 2
        assert p.returncode == 2 and "--socket-id cookie: not available here" in p.stderr, \
            p.stderr

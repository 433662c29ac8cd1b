"""Address filters in the kernel (--laddr/--raddr CIDR lists, IPv4 and
IPv6), --pid --follow, and every filter on timewait (snapshot and live).

Every tracer is held to the test namespace, so its loss record's "events"
(records the kernel put on the ring) must equal what it printed: a
filtered-out event that crossed the ring would show there. An unfiltered
tracer on the same traffic shows that the traffic that must not match was
there to be seen."""
import ipaddress
import json
import subprocess

import pytest

from conftest import BIN, gated, release, transitions

# client, the server that must match, the server that must not
V4 = ("10.7.0.1", "10.7.1.2", "10.7.2.3")
V6 = ("fd00::1", "fd00:0:0:1::2", "fd00:0:0:2::3")
NET4, NET6 = "10.7.1.0/24", "fd00:0:0:1::/64"


def add_addresses(ns):
    for a in V4:
        ns.run("ip", "addr", "add", a + "/16", "dev", "lo", check=True)
    for a in V6:  # nodad: usable at once
        ns.run("ip", "-6", "addr", "add", a + "/48", "dev", "lo", "nodad", check=True)


def ip(s):
    a = ipaddress.ip_address(s)
    return a.ipv4_mapped or a if a.version == 6 else a


def connect(ns, server, client, six):
    """One connection from client to server:port, the client closing first."""
    return ns.scenario("client_close", 0, 0, *(["-6"] if six else []),
                       env={"TD_ADDR": server, "TD_SRC": client})


def assert_nothing_else_crossed(t):
    """Every record the kernel submitted is one this tracer printed."""
    loss = t.loss()
    assert loss["events"] == loss["delivered"] == len(t.events()), loss
    assert loss["lost"] == (loss["recursion_misses"] or 0) and t.clean(), (loss, t.stderr)


def cookies(evs):
    return {e["cookie"] for e in evs}


@pytest.mark.parametrize("six", [False, True])
def test_laddr_raddr(netns, tracer, six):
    client, match, other = V6 if six else V4
    net = NET6 if six else NET4
    add_addresses(netns)
    ns = ["--netns", "/run/netns/" + netns.name]
    everything = tracer("trace", *ns)
    by_raddr = tracer("trace", *ns, "--raddr", match)
    by_laddr = tracer("trace", *ns, "--laddr", net)  # a CIDR, not the address
    both = tracer("trace", *ns, "--laddr", client, "--raddr", "192.0.2.0/24," + match)
    nothing = tracer("trace", *ns, "--laddr", match, "--raddr", other)
    hist = tracer("dwell", *ns, "--raddr", match)
    r = connect(netns, match, client, six)
    connect(netns, other, client, six)
    for t in (everything, by_raddr, by_laddr, both, nothing, hist):
        t.stop()
    cport, sport = r["client"]["lport"], r["server"]["port"]

    # the traffic that must not match was there: both servers, both ends
    allev = everything.events(netns)
    assert {ip(e["laddr"]) for e in allev} >= {ip(client), ip(match), ip(other)}
    assert {ip(e["raddr"]) for e in allev} >= {ip(client), ip(match), ip(other)}

    # --raddr: the client's socket of the connection to `match`, all of it
    evs = by_raddr.events()
    assert evs and all(ip(e["raddr"]) == ip(match) for e in evs), evs
    assert len(cookies(evs)) == 1
    assert all(e["lport"] == cport and e["rport"] == sport for e in evs)
    assert ("CLOSE", "SYN_SENT") in transitions(evs)
    assert all(e["family"] == (6 if six else 4) for e in evs)
    assert_nothing_else_crossed(by_raddr)

    # --laddr CIDR: the server side of that connection (listener and child);
    # a slow guest (TCG) may add a tail-loss probe of the server's FIN
    evs = by_laddr.events()
    assert evs and all(ip(e["laddr"]) == ip(match) for e in evs), evs
    assert len(cookies(evs)) == 2
    assert ("CLOSE", "LISTEN") in transitions(evs)
    assert [e for e in evs if e["type"] == "state" and e["rport"] == cport and e["new"] == "SYN_RECV"]
    assert_nothing_else_crossed(by_laddr)

    # both sides: AND-ed; a list: OR-ed
    evs = both.events()
    assert evs and cookies(evs) == cookies(by_raddr.events())
    assert_nothing_else_crossed(both)
    assert nothing.events() == []
    assert nothing.loss()["events"] == 0

    # histograms are filtered too: one connection's client end
    total = [x for x in hist.records() if x["type"] == "dwell" and x["span"] == "total"][0]
    assert total["states"]["ESTABLISHED"]["count"] == 1
    assert total["states"]["SYN_SENT"]["count"] == 1
    assert "LISTEN" not in total["states"] or total["states"]["LISTEN"]["count"] == 0


def test_ipv4_cidr_matches_mapped_addresses(netns, tracer):
    """An IPv4 CIDR also matches a dual-stack IPv6 socket's ::ffff:a.b.c.d;
    an IPv6 CIDR does not match plain IPv4."""
    client, match, _ = V4
    add_addresses(netns)
    ns = ["--netns", "/run/netns/" + netns.name]
    v4net = tracer("trace", *ns, "--raddr", NET4)
    v6net = tracer("trace", *ns, "--raddr", NET6)
    mapped = connect(netns, "::ffff:" + match, "::ffff:" + client, True)
    plain6 = connect(netns, V6[1], V6[0], True)
    for t in (v4net, v6net):
        t.stop()
    evs = v4net.events()
    assert evs and all(e["family"] == 6 and ip(e["raddr"]) == ip(match) for e in evs), evs
    assert {e["lport"] for e in evs} == {mapped["client"]["lport"]}
    assert_nothing_else_crossed(v4net)
    evs = v6net.events()
    assert evs and {e["lport"] for e in evs} == {plain6["client"]["lport"]}
    assert_nothing_else_crossed(v6net)


@pytest.mark.parametrize("depth", ["child", "grandchild"])
def test_follow_children(netns, tracer, depth):
    """client_close forks its client: the parent owns the listener and the
    accepted socket, the (grand)child the connecting one."""
    env = {"TD_GRANDCHILD": "1"} if depth == "grandchild" else {}
    mine = gated(netns, "client_close", 0, 0, env=env)
    other = gated(netns, "client_close", 0, 0, env=env)
    ns = ["--netns", "/run/netns/" + netns.name]
    follow = tracer("trace", *ns, "--pid", str(mine.pid), "--follow")
    plain = tracer("trace", *ns, "--pid", str(mine.pid))
    everything = tracer("trace", *ns)
    res, theirs = release(mine, other)
    for t in (follow, plain, everything):
        t.stop()
    connector = res["client"]["connector"]
    assert connector != mine.pid
    assert (connector != res["client"]["pid"]) == (depth == "grandchild")

    # the unrelated process (and its descendant) connected too
    pids = {e["pid"] for e in everything.events()}
    assert {mine.pid, connector, other.pid, theirs["client"]["connector"]} <= pids

    evs = follow.events()
    assert {e["pid"] for e in evs} == {mine.pid, connector}, evs
    client_evs = [e for e in evs if e["pid"] == connector]
    assert {e["lport"] for e in client_evs} == {res["client"]["lport"]}
    assert ("CLOSE", "SYN_SENT") in transitions(client_evs)
    assert_nothing_else_crossed(follow)
    assert follow.loss()["pid_map_full"] == 0

    evs = plain.events()
    assert evs and {e["pid"] for e in evs} == {mine.pid}, evs
    assert not [e for e in evs if e["lport"] == res["client"]["lport"]]
    assert_nothing_else_crossed(plain)


def test_follow_full_pid_map_is_a_loss(netns, tracer):
    """--max-follow 64 pids fit: the listed one and 63 children; every
    child after that is refused, counted, and makes the exit code 4."""
    n = 100
    storm = gated(netns, "fork_storm", n)
    t = tracer("trace", "--netns", "/run/netns/" + netns.name, "--pid", str(storm.pid),
               "--follow", "--max-follow", "64")
    release(storm)
    t.stop()
    loss = t.loss()
    # fewer only if a pid came round again (EEXIST: already followed)
    assert 0 < loss["pid_map_full"] <= n - 63, loss
    assert loss["pid_map_full"] >= n - 63 - 5, loss
    assert loss["lost"] >= loss["pid_map_full"]
    assert t.returncode == 4, t.stderr
    assert "%d pid-map refusals (--follow)" % loss["pid_map_full"] in t.stderr


# ---- timewait ----------------------------------------------------------

def census_once(netns, *args):
    p = subprocess.run([BIN, "timewait", "--once", "-o", "json", "--sockets", "--netns",
                        "/run/netns/" + netns.name, *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    recs = [json.loads(l) for l in p.stdout.splitlines()]
    return [r for r in recs if r["type"] == "timewait"][0], \
        [r for r in recs if r["type"] == "timewait_socket"]


def test_timewait_once_filters(netns, bpf):
    """The snapshot applies the filters in the iterator: the count, the
    sockets listed and the tables hold only the matching ones."""
    add_addresses(netns)
    netns.sysctl("net.ipv4.tcp_tw_reuse", 0)  # connect() must not recycle them
    # client-side TIME_WAITs: 4 to match, 3 to other, 2 over IPv6 to match6
    to_match = netns.scenario("many_client_close", 4, env={"TD_ADDR": V4[1]})
    to_other = netns.scenario("many_client_close", 3, env={"TD_ADDR": V4[2]})
    netns.scenario("many_client_close", 2, "-6", env={"TD_ADDR": V6[1]})

    rep, socks = census_once(netns)
    assert rep["count"] == len(socks) == 9
    rep, socks = census_once(netns, "--raddr", V4[1])
    assert rep["count"] == len(socks) == 4
    assert {s["raddr"] for s in socks} == {V4[1]}
    assert {s["lport"] for s in socks} == set(to_match["client"]["lports"])
    assert [p["addr"] for p in rep["top_peers"]] == [V4[1]]
    rep, socks = census_once(netns, "--raddr", NET4 + "," + NET6)
    assert rep["count"] == 6 and {ip(s["raddr"]) for s in socks} == {ip(V4[1]), ip(V6[1])}
    rep, socks = census_once(netns, "--rport", str(to_other["server"]["port"]))
    assert rep["count"] == 3 and {s["raddr"] for s in socks} == {V4[2]}
    rep, socks = census_once(netns, "--laddr", "fd00::/16")
    assert rep["count"] == 2 and all(s["family"] == 6 for s in socks)
    rep, _ = census_once(netns, "-6")
    assert rep["count"] == 2
    rep, socks = census_once(netns, "--raddr", "192.0.2.1")
    assert rep["count"] == 0 and socks == []


def tw_client_ports(ns, peer):
    """Local ports of the namespace's TIME_WAIT sockets whose peer is
    `peer`, as the kernel lists them (ss): the ground truth a count is held
    to (a timewait socket can also end early, by an RST)."""
    out = ns.run("ss", "-Htn", "state", "time-wait", "dst", peer, capture_output=True,
                 text=True, check=True).stdout
    return {int(line.split()[-2].rsplit(":", 1)[1]) for line in out.splitlines()}


def test_timewait_live_filters(netns, tracer):
    """Live: the snapshot and the ring both filtered. By address, the
    sockets older than tcpdwell count; by owner only the ones whose
    creation it saw (the snapshot cannot know who created a socket)."""
    add_addresses(netns)
    netns.sysctl("net.ipv4.tcp_tw_reuse", 0)
    netns.scenario("many_client_close", 2, env={"TD_ADDR": V4[1]})  # before start
    older = tw_client_ports(netns, V4[1])
    mine = gated(netns, "many_client_close", 3, env={"TD_ADDR": V4[1]})
    other = gated(netns, "many_client_close", 4, env={"TD_ADDR": V4[2]})
    ns = ["--netns", "/run/netns/" + netns.name, "-i", "0.2"]
    by_addr = tracer("timewait", *ns, "--raddr", V4[1])
    by_pid = tracer("timewait", *ns, "--pid", str(mine.pid))
    everything = tracer("timewait", *ns)
    # each has taken its snapshot once it has written its first report:
    # what comes after is new to all three (under valgrind that takes s)
    for t in (by_addr, by_pid, everything):
        t.wait_output('"type":"timewait"')
    res_mine, _ = release(mine, other)
    # what the kernel holds when the tracers make their last report:
    # 2 + 3 + 4 unless a timewait socket ended early
    to_1, to_2 = tw_client_ports(netns, V4[1]), tw_client_ports(netns, V4[2])
    for t in (by_addr, by_pid, everything):
        t.stop()
    assert len(older) == 2 and len(to_2) <= 4, (older, to_2)

    def reports(t):
        assert t.clean(), t.stderr
        return [r for r in t.records() if r["type"] == "timewait"]

    # the older sockets keep the age estimated from their timer
    full = reports(everything)[-1]
    assert full["count"] == len(to_1) + len(to_2) >= 7, (full, to_1, to_2)
    assert full["age"]["estimated"] == len(older & to_1)
    rep = reports(by_addr)
    assert rep[-1]["count"] == len(to_1) and rep[-1]["age"]["estimated"] == len(older & to_1)
    assert sum(r["entered"] for r in rep) == 3
    assert [p["addr"] for p in rep[-1]["top_peers"]] == [V4[1]]
    rep = reports(by_pid)
    mine_left = set(res_mine["client"]["lports"]) & to_1
    assert rep[-1]["count"] == len(mine_left) and rep[-1]["age"]["estimated"] == 0  # creator unknown
    assert sum(r["entered"] for r in rep) == 3
    # timewait transitions only on the ring, and only the matching ones
    n_all = everything.loss()["events"]
    for t in (by_addr, by_pid):
        loss = t.loss()
        assert loss["events"] == loss["delivered"] >= 3, loss
        assert n_all >= loss["events"] + 4, (n_all, loss)

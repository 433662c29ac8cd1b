"""`tcpdwell trace` against real connections in a test network namespace.

Each test asserts the exact transition sequence of both ends, the tuples,
the pids of the processes that created the sockets, and the dwell times
against the scenario's own CLOCK_MONOTONIC measurements.
"""
import pytest

from conftest import assert_between_ms, assert_close_ms, dwell_ms, one_socket, rst_reasons, transitions

# Closed by the app before the peer's FIN, the connection moves into a
# timewait socket in substate FIN_WAIT2 and becomes TIME_WAIT on the FIN.
CLIENT_ACTIVE = [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"),
                 ("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "FIN_WAIT2"),
                 ("FIN_WAIT2", "FIN_WAIT2(tw)"), ("FIN_WAIT2(tw)", "TIME_WAIT")]
PASSIVE_CHILD = [("LISTEN", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED"),
                 ("ESTABLISHED", "CLOSE_WAIT"), ("CLOSE_WAIT", "LAST_ACK"),
                 ("LAST_ACK", "CLOSE")]


def check_tuple(evs, family, addr, lport, rport):
    for e in evs:
        assert e["family"] == family
        assert (e["laddr"], e["lport"], e["raddr"], e["rport"]) == (addr, lport, addr, rport), e


def check_owner(evs, pid, owner_sources):
    for e in evs:
        assert e["pid"] == pid, "event attributed to pid %d, expected %d: %s" % (e["pid"], pid, e)
        assert e["owner"] in owner_sources, (e["type"], e.get("old"), e.get("new"), e["owner"])


@pytest.mark.parametrize("fam", ["4", "6"])
def test_client_active_close(netns, tracer, fam):
    # fin_timeout < 60 s: the re-arm to 60 s on the FIN moves the timer to
    # another wheel bucket, so the FIN_WAIT2(tw) -> TIME_WAIT switch is seen
    netns.sysctl("net.ipv4.tcp_fin_timeout", 5)
    t = tracer("trace")
    hold, peer_delay = 0.2, 0.3
    r = netns.scenario("client_close", hold, peer_delay, *(["-6"] if fam == "6" else []))
    t.stop()
    assert t.clean(), t.stderr
    evs = t.events(netns)
    srv, cl = r["server"], r["client"]
    family, addr = r["family"], r["addr"]

    c = one_socket(evs, lport=cl["lport"], rport=srv["port"])
    assert transitions(c) == CLIENT_ACTIVE
    check_tuple(c, family, addr, cl["lport"], srv["port"])
    check_owner(c, cl["pid"], {"connect"})
    assert c[0]["created"] and c[0]["dwell_ns"] is None
    # the SYN_SENT record waited for the port: deferred, with the original time
    assert c[0]["deferred"] and c[0]["ts_ns"] < c[1]["ts_ns"]
    assert cl["t_connect"] <= c[0]["ts_ns"] <= cl["t_connected"]
    # ESTABLISHED from the SYN-ACK, inside connect(): between its call and return
    assert_between_ms(dwell_ms(c, "ESTABLISHED"), (cl["t_close"] - cl["t_connected"]) / 1e6,
                      (cl["t_close"] - cl["t_connect"]) / 1e6, "client ESTABLISHED")
    # the full socket's FIN_WAIT2 ends at once: the orphan is handed over
    assert dwell_ms(c, "FIN_WAIT2") < 50
    assert [e["timewait"] for e in c[-2:]] == [True, True]
    # FIN_WAIT2(tw) lasts until the server closes, peer_delay after it saw EOF
    assert_between_ms(dwell_ms(c, "FIN_WAIT2(tw)"), (srv["t_close"] - srv["t_eof"]) / 1e6,
                      (srv["t_close"] - cl["t_close"]) / 1e6, "client FIN_WAIT2(tw)")

    s = one_socket(evs, lport=srv["port"], rport=cl["lport"])
    assert transitions(s) == PASSIVE_CHILD
    check_tuple(s, family, addr, srv["port"], cl["lport"])
    # before accept() the child carries its listener's owner, after it the acceptor's
    check_owner(s, srv["pid"], {"listener", "accept"})
    assert s[-1]["owner"] == "accept"
    assert_between_ms(dwell_ms(s, "CLOSE_WAIT"), (srv["t_close"] - srv["t_eof"]) / 1e6,
                      (srv["t_close"] - cl["t_close"]) / 1e6, "server CLOSE_WAIT")

    lst = one_socket(evs, lport=srv["port"], rport=0)
    assert transitions(lst) == [("CLOSE", "LISTEN"), ("LISTEN", "CLOSE")]
    check_owner(lst, srv["pid"], {"listen"})

    loss = t.loss()
    assert loss["lost"] == 0 and loss["exact"], loss


def test_server_active_close(netns, tracer):
    netns.sysctl("net.ipv4.tcp_fin_timeout", 5)
    t = tracer("trace")
    hold, peer_delay = 0.25, 0.15
    r = netns.scenario("server_close", hold, peer_delay)
    t.stop()
    assert t.clean(), t.stderr
    evs = t.events(netns)
    srv, cl = r["server"], r["client"]

    s = one_socket(evs, lport=srv["port"], rport=cl["lport"])
    tr = transitions(s)
    assert tr[:4] == [("LISTEN", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED"),
                      ("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "FIN_WAIT2")]
    check_owner(s, srv["pid"], {"listener", "accept"})
    if tr[4:] == [("FIN_WAIT2", "FIN_WAIT2(tw)"), ("FIN_WAIT2(tw)", "TIME_WAIT")]:
        # orphaned at close(): handed to a timewait socket at once
        assert dwell_ms(s, "FIN_WAIT2") < 50
        waited = dwell_ms(s, "FIN_WAIT2(tw)")
    else:
        # the ACK of our FIN was processed while close() still held the
        # socket lock: the kernel keeps the full socket in FIN_WAIT2 (on its
        # keepalive timer) until the peer's FIN (tcp_rcv_state_process)
        assert tr[4:] == [("FIN_WAIT2", "TIME_WAIT")]
        waited = dwell_ms(s, "FIN_WAIT2")
    assert_between_ms(waited, (cl["t_close"] - cl["t_eof"]) / 1e6,
                      (cl["t_close"] - srv["t_close"]) / 1e6, "server FIN_WAIT2")
    # the child is ESTABLISHED from the client's ACK, before accept() returns
    assert_between_ms(dwell_ms(s, "ESTABLISHED"), (srv["t_close"] - srv["t_accepted"]) / 1e6,
                      (srv["t_close"] - cl["t_connect"]) / 1e6, "server ESTABLISHED", abs_ms=10)

    c = one_socket(evs, lport=cl["lport"], rport=srv["port"])
    assert transitions(c) == [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"),
                              ("ESTABLISHED", "CLOSE_WAIT"), ("CLOSE_WAIT", "LAST_ACK"),
                              ("LAST_ACK", "CLOSE")]
    check_owner(c, cl["pid"], {"connect"})
    assert_between_ms(dwell_ms(c, "CLOSE_WAIT"), (cl["t_close"] - cl["t_eof"]) / 1e6,
                      (cl["t_close"] - srv["t_close"]) / 1e6, "client CLOSE_WAIT")
    assert t.loss()["lost"] == 0


@pytest.mark.parametrize("fam", ["4", "6"])
def test_connect_failed_before_syn(netns, tracer, fam):
    """Every connect() that fails for want of a port is one record saying
    so, with its owner, destination and port range; a bound port whose
    4-tuple is taken says that; a refused connect() (its SYN left) and the
    successful ones say nothing of the kind. timeline ends them the same."""
    t = tracer("trace")
    tl = tracer("timeline")
    r = netns.scenario("port_exhaustion", 5, *(["-6"] if fam == "6" else []))
    t.stop()
    tl.stop()
    cl, port = r["client"], r["server"]["port"]
    assert cl["no_port"] == 5 and cl["in_use"] == 1 and cl["refused"], cl
    evs = [e for e in t.events(netns) if e["type"] == "state"]
    failed = [e for e in evs if e["connect_failed"]]
    # the kernel's own answers, one record each: nothing more, nothing less
    assert sorted(e["connect_failed"] for e in failed) == ["no_free_port"] * 5 + ["tuple_in_use"]
    for e in failed:
        assert (e["old"], e["new"], e["rport"], e["pid"], e["owner"]) == \
            ("SYN_SENT", "CLOSE", port, cl["pid"], "connect"), e
        assert e["family"] == int(fam) and e["end"] is None
    assert all(e["lport"] == 0 and e["port_range"] == cl["range"] for e in failed
               if e["connect_failed"] == "no_free_port")
    bound = [e for e in failed if e["connect_failed"] == "tuple_in_use"]
    assert bound[0]["lport"] == 41000
    # the refused one is an ordinary SYN_SENT -> CLOSE
    refused = [e for e in evs if e["rport"] == 1 and e["new"] == "CLOSE"]
    assert len(refused) == 1 and refused[0]["connect_failed"] is None
    conns = [c for c in tl.records() if c["type"] == "connection" and c["rport"] == port and
             c["end"] in ("no_free_port", "tuple_in_use")]
    assert sorted(c["end"] for c in conns) == ["no_free_port"] * 5 + ["tuple_in_use"], conns


def test_connection_refused(netns, tracer):
    t = tracer("trace")
    r = netns.scenario("refused")
    t.stop()
    evs = t.events(netns)
    port, cl = r["server"]["port"], r["client"]

    c = [e for e in evs if e["rport"] == port and e["type"] != "reset_sent"]
    assert [e["type"] for e in c] == ["state", "reset_recv", "state"], c
    assert transitions(c) == [("CLOSE", "SYN_SENT"), ("SYN_SENT", "CLOSE")]
    check_owner(c, cl["pid"], {"connect"})
    assert c[1]["state"] == "SYN_SENT"
    assert c[0]["lport"] != 0 and len({e["lport"] for e in c}) == 1
    assert_close_ms(c[2]["dwell_ns"] / 1e6, (cl["t_refused"] - cl["t_connect"]) / 1e6,
                    "SYN_SENT until refused", abs_ms=5)

    rst = [e for e in evs if e["type"] == "reset_sent"]
    if not rst_reasons():
        # before 6.10 tcp_send_reset does not fire for a RST without a socket
        assert rst == []
        return
    # the RST came from no socket: the tuple is the SYN's, reversed
    assert len(rst) == 1, rst
    assert (rst[0]["lport"], rst[0]["rport"]) == (port, c[0]["lport"])
    assert rst[0]["state"] == "NO_SOCKET" and rst[0]["owner"] == "none"
    assert rst[0]["reason"] == "NO_SOCKET"
    assert t.loss()["lost"] == 0


@pytest.mark.parametrize("how,reason", [("unread", "TCP_ABORT_ON_CLOSE"),
                                        ("linger0", "TCP_STATE")])
def test_abortive_close(netns, tracer, how, reason):
    t = tracer("trace")
    r = netns.scenario(how)
    t.stop()
    evs = t.events(netns)
    srv, cl = r["server"], r["client"]
    assert srv["got_reset"] or how == "linger0"

    c = one_socket(evs, lport=cl["lport"], rport=srv["port"])
    assert transitions(c) == [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"),
                              ("ESTABLISHED", "CLOSE")]
    sent = [e for e in c if e["type"] == "reset_sent"]
    # the kernel sets CLOSE first, then sends the RST (tcp_close/tcp_disconnect)
    assert len(sent) == 1 and sent[0]["state"] == "CLOSE", c
    assert [e["type"] for e in c][-2:] == ["state", "reset_sent"]
    assert sent[0]["reason"] == (reason if rst_reasons() else None)
    assert abs(sent[0]["ts_ns"] - cl["t_close"]) < 50e6
    check_owner(c, cl["pid"], {"connect"})

    s = one_socket(evs, lport=srv["port"], rport=cl["lport"])
    assert transitions(s) == [("LISTEN", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED"),
                              ("ESTABLISHED", "CLOSE")]
    got = [e for e in s if e["type"] == "reset_recv"]
    assert len(got) == 1 and got[0]["state"] == "ESTABLISHED"
    check_owner(s, srv["pid"], {"listener", "accept"})
    assert t.loss()["lost"] == 0


def test_syn_retransmit(netns, tracer):
    t = tracer("trace")
    r = netns.scenario("syn_retrans")
    t.stop()
    evs = t.events(netns)
    srv, cl = r["server"], r["client"]

    c = one_socket(evs, lport=cl["lport"], rport=srv["port"])
    assert [e["type"] for e in c][:3] == ["state", "retrans", "state"]
    assert transitions(c)[:2] == [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED")]
    re = [e for e in c if e["type"] == "retrans"]
    assert len(re) == 1 and re[0]["kind"] == "syn" and re[0]["state"] == "SYN_SENT"
    assert not re[0]["failed"]
    check_owner(c, cl["pid"], {"connect"})
    # the handshake took one initial RTO (1 s): the scenario saw it in connect()
    handshake = dwell_ms(c, "SYN_SENT")
    assert 900 < handshake < 1500
    assert_close_ms(handshake, (cl["t_connected"] - cl["t_connect"]) / 1e6, "SYN_SENT")
    # the deferred SYN_SENT came out with the retransmit, before it
    assert c[0]["ts_ns"] < re[0]["ts_ns"]
    assert t.loss()["lost"] == 0

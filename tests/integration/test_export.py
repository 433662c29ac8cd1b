"""tcpdwell export (issue P8): Prometheus metrics, checked by Prometheus'
own tools. The exporter is filtered to the test's namespace (--netns), so
its counters hold exactly what the scenario generated there; the HTTP side
runs on loopback ports picked free. A real Prometheus server (Debian's
package, installed here when missing) scrapes it every second and the
assertions go through its HTTP API."""
import http.client
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import json

import pytest

from conftest import BIN, READY_S, sockstat_tw, wait_until, written

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
ENTER_FROM = ("FIN_WAIT2", "CLOSING")
ENTER_TO = ("TIME_WAIT", "FIN_WAIT2(tw)")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def parse(text):
    """Exposition text -> [(name, {labels}, value)] (comments skipped)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        out.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def total(samples, name, **want):
    return sum(v for n, l, v in samples
               if n == name and all(l.get(k) == w for k, w in want.items()))


def tw_entries(samples, **want):
    """Connections that entered a timewait socket, from the transitions."""
    return sum(v for n, l, v in samples
               if n == "tcpdwell_transitions_total" and l["from"] in ENTER_FROM
               and l["to"] in ENTER_TO and all(l.get(k) == w for k, w in want.items()))


def get(port, path="/metrics", headers=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, r.getheader("Content-Type"), body


def scrape_until(t, port, done, what):
    """Scrape until done(samples) says the tracer has counted what the test
    waits for; the text of that scrape."""
    def ready():
        status, _, text = get(port)
        return status == 200 and done(parse(text)) and text
    return wait_until(ready, READY_S, what, alive=lambda: t.proc.poll() is None)


def raw(port, data, timeout=10):
    """Send bytes, read the answer until the server closes; (status, text)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    got = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    status = int(got.split(b" ", 2)[1]) if got.startswith(b"HTTP/1.1 ") else None
    return status, got.decode(errors="replace")


def start_exporter(tracer, netns, *extra):
    port = free_port()
    t = tracer("export", "--netns", "/run/netns/" + netns.name,
               "--listen", "127.0.0.1:%d" % port, *extra, fmt="text")
    return t, port


def test_metrics_exact_and_promtool_lint(netns, tracer):
    """Counts from the scenario in the exposition; promtool check metrics
    finds no problem; OpenMetrics when asked for it."""
    t, port = start_exporter(tracer, netns)
    n = 5
    r = netns.scenario("many_client_close", n)
    # counted: every connection's last transitions (and the listener's close)
    scrape_until(t, port, lambda s: tw_entries(s) >= n and total(
        s, "tcpdwell_transitions_total", **{"from": "LAST_ACK", "to": "CLOSE"}) >= n and total(
        s, "tcpdwell_transitions_total", **{"from": "LISTEN", "to": "CLOSE"}) >= 1,
        "the exporter counting the scenario")
    status, ctype, text = get(port)
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4"), (status, ctype)
    s = parse(text)
    # every connection: the client through FIN_WAIT2 into TIME_WAIT, the server
    # CLOSE_WAIT -> LAST_ACK -> CLOSE; one listener opened and closed
    assert tw_entries(s) == n, text
    assert total(s, "tcpdwell_transitions_total", **{"from": "SYN_SENT", "to": "ESTABLISHED"}) == n
    assert total(s, "tcpdwell_transitions_total", **{"from": "SYN_RECV", "to": "ESTABLISHED"}) == n
    assert total(s, "tcpdwell_transitions_total", **{"from": "LAST_ACK", "to": "CLOSE"}) == n
    assert total(s, "tcpdwell_transitions_total", **{"from": "CLOSE", "to": "LISTEN"}) == 1
    assert total(s, "tcpdwell_timewait_entered_total", netns=str(netns.inum)) == n
    assert total(s, "tcpdwell_timewait_sockets", netns=str(netns.inum)) == sockstat_tw(netns) == n
    # both ends left ESTABLISHED once per connection, in the histogram too
    assert total(s, "tcpdwell_dwell_seconds_count", state="ESTABLISHED") == 2 * n
    assert total(s, "tcpdwell_dwell_seconds_bucket", state="ESTABLISHED", le="+Inf") == 2 * n
    buckets = [v for nm, l, v in s if nm == "tcpdwell_dwell_seconds_bucket"
               and l["state"] == "ESTABLISHED"]
    assert buckets == sorted(buckets), "cumulative buckets must not decrease"
    assert total(s, "tcpdwell_build_info") == 1
    assert total(s, "tcpdwell_lost_events_total") == 0, text
    assert r["client"]["lports"]

    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                          text=True)
    assert lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(), (
        lint.returncode, lint.stdout, lint.stderr)

    status, ctype, om = get(port, headers={
        "Accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"})
    assert status == 200 and ctype.startswith("application/openmetrics-text; version=1.0.0")
    assert om.endswith("# EOF\n") and om.count("# EOF") == 1
    assert "# TYPE tcpdwell_transitions counter" in om
    assert "# TYPE tcpdwell_build info" in om
    assert tw_entries(parse(om.replace("# EOF\n", ""))) == n
    assert t.proc.poll() is None


def test_connect_failures_counted_by_reason(netns, tracer):
    """Each connect() that failed before its SYN, by reason, as the
    scenario's calls returned EADDRNOTAVAIL; the refused one is not."""
    t, port = start_exporter(tracer, netns)
    r = netns.scenario("port_exhaustion", 3)["client"]
    assert r["no_port"] == 3 and r["in_use"] == 1 and r["refused"], r
    name = "tcpdwell_connect_failures_total"
    scrape_until(t, port, lambda s: total(s, name) >= 4, "the exporter counting the failures")
    s = parse(get(port)[2])
    assert total(s, name, reason="no_free_port") == 3
    assert total(s, name, reason="tuple_in_use") == 1
    assert total(s, name) == 4
    # every SYN_SENT -> CLOSE: the four above and the refused connect()
    assert total(s, "tcpdwell_transitions_total", **{"from": "SYN_SENT", "to": "CLOSE"}) == 5


def ensure_prometheus():
    """Debian's prometheus, installed when missing (the suite must run on a
    fresh machine). Its packaged service is not used: the test runs its own
    server on a free loopback port with a throwaway database."""
    if not shutil.which("prometheus") or not shutil.which("promtool"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        "prometheus"], check=True, env=env, capture_output=True)
    return shutil.which("prometheus")


class Prometheus:
    def __init__(self, target_port):
        self.dir = tempfile.mkdtemp(prefix="tdprom-")
        self.port = free_port()
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
                    "scrape_configs:\n  - job_name: tcpdwell\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % target_port)
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen(
            [ensure_prometheus(), "--config.file", cfg,
             "--storage.tsdb.path", os.path.join(self.dir, "data"),
             "--web.listen-address", "127.0.0.1:%d" % self.port],
            stdout=self.log, stderr=subprocess.STDOUT)

        def ready():
            try:
                return get(self.port, "/-/ready", timeout=2)[0] == 200
            except OSError:
                return False
        try:
            wait_until(ready, 60, "prometheus ready", alive=lambda: self.proc.poll() is None)
        except AssertionError as e:
            raise AssertionError("%s: %s" % (e, self.logs()))

    def logs(self):
        return written(self.log)[-3000:]

    def query(self, promql):
        """Instant query -> [(labels, value)]."""
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (
            self.port, urllib.parse.urlencode({"query": promql}))
        with urllib.request.urlopen(url, timeout=10) as r:
            data = json.load(r)
        assert data["status"] == "success", data
        return [(x["metric"], float(x["value"][1])) for x in data["data"]["result"]]

    def wait_for(self, promql, want, timeout=30):
        """Poll until the query's sum is `want`; returns the last result."""
        last = [[]]

        def reached():
            last[0] = res = self.query(promql)
            return res and sum(v for _, v in res) == want and res
        try:
            return wait_until(reached, timeout, promql)
        except AssertionError as e:
            raise AssertionError("%s: wanted %s, Prometheus has %s" % (e, want, last[0]))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def prometheus():
    started = []

    def start(target_port):
        p = Prometheus(target_port)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


def test_prometheus_scrapes_the_scenario(netns, tracer, prometheus):
    """A real Prometheus scrapes the exporter; its API has the series and
    the counts of a known scenario: N client-closed connections -> N
    entries into TIME_WAIT, and the TIME_WAIT gauge is sockstat's tw."""
    t, port = start_exporter(tracer, netns)
    prom = prometheus(port)
    ns = str(netns.inum)
    prom.wait_for('up{job="tcpdwell"}', 1)
    n = 7
    netns.scenario("many_client_close", n)
    tw = sockstat_tw(netns)
    assert tw == n
    prom.wait_for('tcpdwell_timewait_entered_total{netns="%s"}' % ns, n)
    # TIME_WAIT lasts 60 s and nothing else runs in the namespace: stable
    prom.wait_for('sum(tcpdwell_timewait_sockets{netns="%s"})' % ns, tw)
    trans = prom.query("tcpdwell_transitions_total")
    entered = sum(v for l, v in trans if l["from"] in ENTER_FROM and l["to"] in ENTER_TO)
    assert entered == n, trans
    by = {(l["from"], l["to"]): v for l, v in trans}
    assert by[("SYN_SENT", "ESTABLISHED")] == n and by[("LAST_ACK", "CLOSE")] == n, by
    # the histogram as Prometheus sees it: buckets, sum and count per state
    est = prom.query('tcpdwell_dwell_seconds_count{state="ESTABLISHED"}')
    assert [v for _, v in est] == [2 * n]
    buckets = prom.query('tcpdwell_dwell_seconds_bucket{state="ESTABLISHED"}')
    assert len(buckets) == 28 and max(v for _, v in buckets) == 2 * n
    q = prom.query('histogram_quantile(0.5, tcpdwell_dwell_seconds_bucket{state="SYN_SENT"})')
    assert q and 0 < q[0][1] < 1, q
    info = prom.query("tcpdwell_build_info")[0][0]
    version = subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout
    assert info["version"] in version and "(git %s," % info["revision"] in version, info
    for name in ("tcpdwell_lost_events_total", "tcpdwell_http_responses_total",
                 "tcpdwell_timewait_ended_total", "tcpdwell_start_time_seconds"):
        assert prom.query(name), name
    # Prometheus asks for OpenMetrics (its Accept header); every scrape an answer
    prom.wait_for('tcpdwell_http_responses_total{code!="200"}', 0)
    assert prom.query('scrape_samples_scraped{job="tcpdwell"}')[0][1] > 300
    assert t.proc.poll() is None


def test_http_robustness(netns, tracer):
    """Malformed, unknown, wrong-method, oversized, slow and concurrent
    clients: each gets its answer, the exporter keeps serving and the
    tracer keeps counting."""
    t, port = start_exporter(tracer, netns)
    assert raw(port, b"GARBAGE\r\n\r\n")[0] == 400
    t0 = time.time()
    assert raw(port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")[0] == 400  # TLS hello
    assert time.time() - t0 < 2, "binary garbage must be refused at once, not at the deadline"
    assert raw(port, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 404
    st, text = raw(port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert st == 405 and "Allow: GET" in text
    assert raw(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 10000 + b"\r\n\r\n")[0] \
        == 431
    assert raw(port, b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n")[0] == 505
    st, text = raw(port, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert st == 200 and text.endswith("ok\n")

    # a slow client holds a slot; meanwhile 20 concurrent scrapes
    slow = socket.create_connection(("127.0.0.1", port))
    slow.sendall(b"GET /metr")
    slow_t0 = time.time()
    results = []

    def scrape():
        t1 = time.time()
        try:
            st, _ = raw(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        except OSError as exc:  # a refused client is reset, not left hanging
            st = repr(exc)
        results.append((st, time.time() - t1))

    threads = [threading.Thread(target=scrape) for _ in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=30)
    assert len(results) == 20, results
    codes = [st for st, _ in results]
    # 15 free slots at least; a client refused while full gets 503 (or, when
    # its request crossed the close, a reset)
    assert codes.count(200) >= 15, codes
    assert all(c in (200, 503) or "ConnectionReset" in str(c) for c in codes), codes
    # none waited for the slow client's deadline
    assert max(dt for _, dt in results) < 3, results
    busy = codes.count(503)

    # the slow client gets 408 at its 5 s deadline, and the connection ends
    slow.settimeout(15)
    got = b""
    while True:
        chunk = slow.recv(4096)
        if not chunk:
            break
        got += chunk
    waited = time.time() - slow_t0
    slow.close()
    assert got.startswith(b"HTTP/1.1 408 "), got
    assert 4.5 < waited < 8, waited

    # the tracer kept counting through all of this
    n = 3
    netns.scenario("many_client_close", n)
    scrape_until(t, port, lambda s: tw_entries(s) >= n and total(
        s, "tcpdwell_transitions_total", **{"from": "LAST_ACK", "to": "CLOSE"}) >= n,
        "the exporter counting the scenario")
    st, _, text = get(port)
    assert st == 200
    s = parse(text)
    assert tw_entries(s) == n
    assert total(s, "tcpdwell_timewait_entered_total") == n
    assert total(s, "tcpdwell_http_responses_total", code="400") == 2
    assert total(s, "tcpdwell_http_responses_total", code="404") == 1
    assert total(s, "tcpdwell_http_responses_total", code="405") == 1
    assert total(s, "tcpdwell_http_responses_total", code="431") == 1
    assert total(s, "tcpdwell_http_responses_total", code="505") == 1
    assert total(s, "tcpdwell_http_responses_total", code="408") == 1
    assert total(s, "tcpdwell_http_responses_total", code="503") >= busy
    assert t.proc.poll() is None
    t.stop()
    # a clean stop: 0, or 4 when the kernel lost events (the summary says which)
    assert t.returncode in (0, 4) and "lost:" in t.stderr, (t.returncode, t.stderr)


def test_label_allowlist_bounds_cardinality(netns, tracer):
    """--label-ports and --label-peers: the listed port and peer get their
    own label value, everything else is "other", whatever ports and peers
    the traffic used."""
    listed = free_port()
    unlisted = free_port()
    while unlisted == listed:
        unlisted = free_port()
    t, port = start_exporter(tracer, netns, "--label-ports", str(listed),
                             "--label-peers", "127.0.0.0/8")
    netns.scenario("many_client_close", 3, env={"TD_PORT": str(listed)})
    netns.scenario("many_client_close", 2, env={"TD_PORT": str(unlisted)})
    netns.scenario("many_client_close", 4, "-6", env={"TD_PORT": str(unlisted)})
    scrape_until(t, port, lambda s: tw_entries(s) >= 9 and total(
        s, "tcpdwell_transitions_total", **{"from": "LAST_ACK", "to": "CLOSE"}) >= 9,
        "the exporter counting the scenarios")
    st, _, text = get(port)
    assert st == 200
    s = parse(text)
    ports = {l["port"] for n, l, _ in s if "port" in l}
    peers = {l["peer"] for n, l, _ in s if "peer" in l}
    assert ports == {str(listed), "other"}, ports
    assert peers == {"127.0.0.0/8", "other"}, peers
    assert tw_entries(s, port=str(listed), peer="127.0.0.0/8") == 3
    assert tw_entries(s, port="other", peer="127.0.0.0/8") == 2
    assert tw_entries(s, port="other", peer="other") == 4  # IPv6 ::1
    assert tw_entries(s) == 9
    assert total(s, "tcpdwell_transitions_total", port=str(listed),
                 **{"from": "CLOSE", "to": "LISTEN"}) == 1
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                          text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_export_bad_input(bpf):
    for args, msg in ((["--listen", "nowhere"], "bad --listen"),
                      (["--label-ports", "70000"], "bad --label-ports"),
                      (["--label-peers", "10.1.0.0/8"], "bad --label-peers")):
        p = subprocess.run([BIN, "export"] + args, capture_output=True, text=True, timeout=10)
        assert p.returncode == 2 and p.stderr.count("\n") == 1 and msg in p.stderr, p.stderr
    # a port already taken: one line, exit 2, nothing left attached
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    p = subprocess.run([BIN, "export", "--listen", "127.0.0.1:%d" % s.getsockname()[1]],
                       capture_output=True, text=True, timeout=10)
    s.close()
    assert p.returncode == 2 and "cannot listen" in p.stderr and p.stderr.count("\n") == 1, \
        p.stderr

"""Fixtures for the integration suite: a network namespace per test, the
real tcpdwell binary with its real BPF programs, and the scenario driver.

BPF tests need root and kernel BTF. Where they are missing the tests skip
and say why, except with TCPDWELL_REQUIRE_BPF=1 (CI), where that is a
failure.
"""
import atexit
import glob
import itertools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCENARIO = os.path.join(os.path.dirname(__file__), "scenario.py")
PYTHON = "/usr/bin/python3"
_names = itertools.count()

# The binary under test: ./tcpdwell, or TCPDWELL_BIN. TCPDWELL_WRAP is a
# command prefix run in front of it (tests/run-valgrind.sh: valgrind); a
# small script holds both, so every test that runs BIN runs it wrapped.
# Wrapped, a failing check of the wrapper exits TCPDWELL_WRAP_ERROR_CODE and
# writes its reports to TCPDWELL_WRAP_LOGDIR; start-up takes longer (BTF
# parsing under valgrind), so "tracing" is waited for TCPDWELL_READY_S.
REAL_BIN = os.environ.get("TCPDWELL_BIN") or os.path.join(REPO, "tcpdwell")
WRAP = shlex.split(os.environ.get("TCPDWELL_WRAP", ""))
WRAP_ERROR_CODE = int(os.environ.get("TCPDWELL_WRAP_ERROR_CODE", "0")) or None
WRAP_LOGDIR = os.environ.get("TCPDWELL_WRAP_LOGDIR")
READY_S = float(os.environ.get("TCPDWELL_READY_S", "90" if WRAP else "20"))

POLL_S = 0.02  # how often wait_until looks again; never a wait for something


def wait_until(cond, timeout, what, alive=None):
    """Poll cond() until it returns something true and return that; fail
    with `what` after `timeout` s, or as soon as alive() says the process
    that should make cond true has ended. The one poll loop of the suite:
    tests wait for a state to be reached, never for a time to pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if alive is not None and not alive():
            v = cond()  # what it did before it ended
            if v:
                return v
            raise AssertionError("%s: its process ended first" % what)
        if time.monotonic() >= deadline:
            raise AssertionError("%s: not within %.1f s" % (what, timeout))
        time.sleep(POLL_S)


def written(f):
    """What another process has written so far to the file f (its stdout
    or stderr), read through a file description of our own: the writer
    shares f's offset, and a seek on f while it writes would move where
    its next write lands, over what it wrote before."""
    with open("/proc/self/fd/%d" % f.fileno(), errors="replace") as own:
        return own.read()


def records_written(f):
    """The JSON records written so far to f: whole lines only (the writer
    may be in the middle of one)."""
    return [json.loads(line) for line in written(f).split("\n")[:-1] if line.strip()]


def _wrapped_bin():
    if not WRAP:
        return REAL_BIN
    fd, path = tempfile.mkstemp(prefix="tcpdwell-wrap-", suffix=".sh")
    with os.fdopen(fd, "w") as f:
        f.write("#!/bin/sh\nexec %s %s \"$@\"\n" % (" ".join(shlex.quote(w) for w in WRAP),
                                                  shlex.quote(REAL_BIN)))
    os.chmod(path, 0o755)
    atexit.register(os.unlink, path)
    return path


BIN = _wrapped_bin()


def bpf_unavailable():
    if os.geteuid() != 0:
        return "not root"
    if not os.access("/sys/kernel/btf/vmlinux", os.R_OK):
        return "kernel has no BTF (/sys/kernel/btf/vmlinux)"
    if not os.access(REAL_BIN, os.X_OK):
        return "tcpdwell not built (run make)"
    return None


@pytest.fixture
def bpf():
    why = bpf_unavailable()
    if why:
        if os.environ.get("TCPDWELL_REQUIRE_BPF") == "1":
            pytest.fail("BPF tests are mandatory here but cannot run: " + why)
        pytest.skip("BPF tests need root and BTF: " + why)


class Netns:
    def __init__(self):
        self.name = "tdtest-%d-%d" % (os.getpid(), next(_names))
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"], check=True)
        self.inum = os.stat("/run/netns/" + self.name).st_ino

    def run(self, *cmd, **kw):
        return subprocess.run(["ip", "netns", "exec", self.name, *cmd], **kw)

    def sysctl(self, key, value):
        self.run("sysctl", "-qw", "%s=%s" % (key, value), check=True)

    def scenario(self, name, *args, env=None, timeout=60):
        e = dict(os.environ)
        e.update(env or {})
        p = self.run(PYTHON, SCENARIO, name, *[str(a) for a in args],
                     capture_output=True, text=True, env=e, timeout=timeout)
        assert p.returncode == 0, "scenario %s failed: %s" % (name, p.stderr)
        return json.loads(p.stdout)

    def delete(self):
        subprocess.run(["ip", "netns", "delete", self.name], check=False)


def wrap_reports(pid=None):
    """The wrapper's logs (all, or one process's) that report errors."""
    if not WRAP_LOGDIR:
        return []
    bad = []
    for path in glob.glob(os.path.join(WRAP_LOGDIR, "*.log")):
        if pid is not None and not path.endswith(".%d.log" % pid):
            continue
        with open(path, errors="replace") as f:
            text = f.read()
        # valgrind: "ERROR SUMMARY: 0 errors from 0 contexts" when clean
        if re.search(r"ERROR SUMMARY: [1-9]", text):
            bad.append(path)
    return bad


@pytest.fixture(autouse=True)
def wrap_clean():
    """Wrapped, any process of this test whose wrapper found errors fails
    it, whatever the test itself checked (a usage error's exit 2 included).
    Set up first, torn down last: after the tracers are stopped."""
    before = set(wrap_reports())
    yield
    new = sorted(set(wrap_reports()) - before)
    if new:
        with open(new[0], errors="replace") as f:
            pytest.fail("%s found errors in %s:\n%s" % (WRAP[0], new, f.read()[-6000:]))


@pytest.fixture
def netns(bpf):
    ns = Netns()
    yield ns
    ns.delete()


def exited_clean(returncode, stderr):
    """Tracer.clean() for any tcpdwell run: exit 0, or 4 with recursion
    misses its only loss."""
    if returncode == 0:
        return True
    m = re.findall(r"; lost: ([^\n]*)", stderr)  # the last summary
    if returncode != 4 or not m:
        return False
    lost = {what: int(n) for n, what in re.findall(r"(\d+) ([a-z][a-z -]*)", m[-1])}
    if not lost.pop("recursion misses", 0) or any(lost.values()):
        return False
    print("tcpdwell ran with recursion misses only:", m[-1], file=sys.stderr)
    return True


class Tracer:
    """tcpdwell as a subprocess; start() returns once it is attached."""

    def __init__(self, args, fmt="json", stdout=None, flush_ms=20):
        self.out = stdout or tempfile.TemporaryFile(mode="w+")
        self.err = tempfile.TemporaryFile(mode="w+")
        cmd = [BIN] + list(args)
        if fmt == "json":
            cmd += ["-o", "json"]
        self.proc = subprocess.Popen(cmd + ["--flush-ms", str(flush_ms)], stdout=self.out,
                                     stderr=self.err, text=True)
        self._wait_ready()
        self.returncode = None

    def _wait_ready(self, timeout=READY_S):
        try:
            wait_until(lambda: "tcpdwell: tracing" in written(self.err), timeout,
                       "tracer start", alive=lambda: self.proc.poll() is None)
        except AssertionError as e:
            raise AssertionError("%s: rc=%s stderr=%s"
                                 % (e, self.proc.poll(), written(self.err)))

    def wait_output(self, text, timeout=30):
        """Until the tracer has written `text` to stdout."""
        wait_until(lambda: text in written(self.out),
                   timeout + (READY_S if WRAP else 0), "tracer output %r" % text,
                   alive=lambda: self.proc.poll() is None)

    def stop(self, sig=signal.SIGINT):
        # No wait before the signal: what the scenario did is in the ring
        # already, and the tracer drains it after detaching (td_tracer_finish)
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.returncode = self.proc.wait(timeout=30 + (READY_S if WRAP else 0))
        self.out.seek(0)
        self.stdout = self.out.read()
        self.err.seek(0)
        self.stderr = self.err.read()
        assert WRAP_ERROR_CODE is None or self.returncode != WRAP_ERROR_CODE, \
            "%s found errors: %s" % (WRAP[0], wrap_reports(self.proc.pid))
        return self

    def records_so_far(self):
        """Its records while it runs (records(): once it has stopped)."""
        return records_written(self.out)

    def records(self):
        return [json.loads(l) for l in self.stdout.splitlines() if l.strip()]

    def events(self, netns=None):
        return [r for r in self.records() if r["type"] != "loss"
                and (netns is None or r["netns"] == netns.inum)]

    def clean(self):
        """It exited 0; or 4 (events lost) with every loss counter 0 but
        the recursion misses: runs of its programs the kernel skipped
        because one already ran on that CPU (a softirq over a program in
        process context). The kernel imposes those, tcpdwell counts and
        says them (docs/design.md §3.4); on a slow machine (valgrind, a TCG
        guest) a long run meets a few, mostly for timers and sockets the
        test is not about, and the test's own checks say whether any of
        its events was among them."""
        return exited_clean(self.returncode, self.stderr)

    def loss(self):
        losses = [r for r in self.records() if r["type"] == "loss"]
        assert losses, "no loss summary in output: %r" % self.stdout[-500:]
        return losses[-1]


def gated(ns, *args, env=None, pre=None):
    """The scenario, started but held at a gate until release(): its pid
    is known before it makes any connection."""
    e = dict(os.environ, TD_GATE="1", **(env or {}))
    cmd = ["ip", "netns", "exec", ns.name, PYTHON, SCENARIO, *[str(a) for a in args]]
    if pre:  # a shell step first, then exec: the pid stays the same
        cmd = ["sh", "-c", pre + ' && exec "$@"', "sh"] + cmd
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=e)


def release(*procs):
    """Open the gates; wait for the scenarios; their results."""
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    res = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0, out
        res.append(json.loads(out))
    return res


@pytest.fixture
def tracer(bpf):
    started = []

    def start(*args, **kw):
        t = Tracer(args, **kw)
        started.append(t)
        return t

    yield start
    for t in started:
        if t.proc.poll() is None:
            t.proc.kill()
            t.proc.wait()


@pytest.fixture
def cgroup2():
    """A cgroup v2 hierarchy: the host's, or one mounted for the test (the
    6.1 guest of make vmtest has none mounted)."""
    with open("/proc/mounts") as f:
        for line in f:
            dev, path, fstype = line.split()[:3]
            if fstype == "cgroup2":
                yield path
                return
    path = tempfile.mkdtemp(prefix="tdcg2-")
    subprocess.run(["mount", "-t", "cgroup2", "none", path], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", path], check=False)
        os.rmdir(path)


_BTF = {}


def kernel_has_field(struct, field):
    """Whether this kernel's BTF has struct.field: tests expect what the
    kernel can report (e.g. 6.1's tracepoints lack fields 6.18's have),
    asking the same way the BPF side's CO-RE probes do."""
    if "raw" not in _BTF:
        _BTF["raw"] = subprocess.run(
            ["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "raw"],
            capture_output=True, text=True, check=True).stdout
    raw = _BTF["raw"]
    i = raw.find("STRUCT '%s'" % struct)
    if i < 0:
        return False
    for line in raw[i:].splitlines()[1:]:
        if not line.startswith("\t"):
            return False
        if line.split()[0] == "'%s'" % field:
            return True
    return False


# Linux 6.10 made tcp_send_reset fire without a socket too, with a reason
RST_REASONS = None


def rst_reasons():
    global RST_REASONS
    if RST_REASONS is None:
        RST_REASONS = kernel_has_field("trace_event_raw_tcp_send_reset", "reason")
    return RST_REASONS


def retrans_err():
    """6.x reports failed retransmit attempts (with err); 6.1 does not."""
    return kernel_has_field("trace_event_raw_tcp_retransmit_skb", "err")


def sockets(events):
    """Group events by socket cookie, in time order."""
    by = {}
    for e in sorted(events, key=lambda e: e["ts_ns"]):
        by.setdefault(e["cookie"], []).append(e)
    return by


def one_socket(events, lport=None, rport=None, family=None):
    """The events of the one socket whose tuple matches."""
    found = {}
    for cookie, evs in sockets(events).items():
        if cookie == 0:
            continue  # RST sent for no socket: not a socket of its own
        if any((lport is None or e["lport"] == lport) and
               (rport is None or e["rport"] == rport) and
               (family is None or e["family"] == family) for e in evs):
            found[cookie] = evs
    assert len(found) == 1, "expected one socket lport=%s rport=%s, got %d: %s" % (
        lport, rport, len(found), json.dumps(events, indent=None)[:2000])
    return next(iter(found.values()))


def sockstat_tw(ns):
    """/proc/net/sockstat's tw (both timewait substates) in namespace ns."""
    out = ns.run("cat", "/proc/net/sockstat", capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("TCP:"):
            f = line.split()
            return int(f[f.index("tw") + 1])
    raise AssertionError("no TCP line in sockstat: " + out)


def transitions(evs):
    return [(e["old"], e["new"]) for e in evs if e["type"] == "state"]


def fold_tw_substate(tr):
    """FIN_WAIT2 -> FIN_WAIT2(tw) -> TIME_WAIT as FIN_WAIT2 -> TIME_WAIT.
    When close() returns before the peer's FIN has arrived, the orphaned
    socket waits for it in the timewait socket's FIN_WAIT2 substate; on a
    slow or busy machine (a TCG guest) that happens where it usually does
    not. Tests that are about something else accept both paths."""
    out = []
    for pair in tr:
        pair = tuple(pair)
        if out and out[-1] == ("FIN_WAIT2", "FIN_WAIT2(tw)"):
            if pair == ("FIN_WAIT2(tw)", "TIME_WAIT"):
                out[-1] = ("FIN_WAIT2", "TIME_WAIT")
                continue
            if pair[0] == "TIME_WAIT":
                # the switch was silent (the re-armed timer stayed in its
                # wheel bucket): the end reports TIME_WAIT, flagged late
                out[-1] = ("FIN_WAIT2", "TIME_WAIT")
        out.append(pair)
    return out


def dwell_ms(evs, state):
    """Dwell in `state` as the tracer measured it (the event leaving it)."""
    leaving = [e for e in evs if e["type"] == "state" and e["old"] == state]
    assert len(leaving) == 1, "state %s left %d times" % (state, len(leaving))
    assert leaving[0]["dwell_ns"] is not None
    return leaving[0]["dwell_ns"] / 1e6


def assert_close_ms(measured, expected, what, rel=0.05, abs_ms=5.0):
    """The tracer's dwell within max(5 %, 5 ms) of the scenario's own clock."""
    assert_between_ms(measured, expected, expected, what, rel, abs_ms)


def assert_between_ms(measured, seen_ms, caused_ms, what, rel=0.05, abs_ms=5.0):
    """A dwell whose start the scenario can only date from both ends:
    caused_ms from the call that caused it (a peer's close(): its FIN
    crosses loopback within the call; connect()'s start), seen_ms from when
    the process woke up to see it (EOF; connect() or accept() returning),
    later by its wakeup latency (up to a TCG time slice in a guest). The
    tracer's dwell lies between the two, within max(5 %, 5 ms) of the
    shorter."""
    lo, hi = min(seen_ms, caused_ms), max(seen_ms, caused_ms)
    tol = max(lo * rel, abs_ms)
    clock = ("%.3f ms" % seen_ms if seen_ms == caused_ms else
             "%.3f (seen) to %.3f ms (caused)" % (seen_ms, caused_ms))
    assert lo - tol <= measured <= hi + tol, "%s: tracer %.3f ms, scenario %s (tol %.3f)" % (
        what, measured, clock, tol)


# --- The 60 s TIME_WAIT expiry runs alongside the whole session -----------
# It starts when the session starts (its own netns, tracers filtered to it)
# and test_zz_expiry.py, collected last, waits for what is left of the 60 s.

EXPIRY = {}


def pytest_sessionstart(session):
    import random
    if bpf_unavailable() or os.environ.get("TCPDWELL_SKIP_EXPIRY") == "1":
        return
    try:
        ns = Netns()
        # below the ephemeral range: no other test's socket uses this port
        port = random.randint(10000, 19999)
        # tcp_fin_timeout stays at its default 60 s: the FIN_WAIT2(tw) ->
        # TIME_WAIT switch re-arms the timer silently, and must show anyway
        # unfiltered, trace and timeline see the whole suite's traffic too;
        # under valgrind a reader that slow drops events (counted, exit 4),
        # so there they watch this namespace only
        own = ["--netns", "/run/netns/" + ns.name] if WRAP else []
        tracers = {
            "trace": Tracer(["trace", *own]),
            "timeline": Tracer(["timeline", *own]),
            # its own namespace too: a port filter alone still tracks every
            # timewait socket of the host, and a host with more than the
            # timewait map holds evicts (F run: 40208 evictions while a
            # profile's 172 000 connections ran beside the suite)
            "dwell": Tracer(["dwell", "--rport", str(port), "--netns", "/run/netns/" + ns.name]),
            "timewait": Tracer(["timewait", "--netns", "/run/netns/" + ns.name, "-i", "5",
                                "--verify"]),
        }
        res = ns.scenario("client_close", 0.1, 0.2, env={"TD_PORT": str(port)})
        EXPIRY.update(ns=ns, port=port, tracers=tracers, result=res, t_done=time.time())
    except Exception as exc:  # reported by the test, never lost
        EXPIRY["error"] = repr(exc)


def pytest_sessionfinish(session, exitstatus):
    for t in EXPIRY.get("tracers", {}).values():
        if t.proc.poll() is None:
            t.proc.kill()
            t.proc.wait()
    if "ns" in EXPIRY:
        EXPIRY["ns"].delete()

#!/usr/bin/python3
"""tcpdwell overhead and loss, side by side with the reference tools.

One invocation runs every configuration N times in alternating order
(forward, then backward, ...) under the same loopback churn, so the ratios
compare runs made minutes apart on the same noisy machine:

  none            no tracer: the baseline connection rate
  trace-text      tcpdwell trace -o text > /dev/null
  trace-json      tcpdwell trace -o json > /dev/null
  trace-wakeup    trace-text with a reader wakeup per event (what batching saves)
  dwell           tcpdwell dwell (in-kernel histograms, nothing on the ring)
  timewait        tcpdwell timewait (the live census, a report per second)
  tcpstates       libbpf-tools tcpstates (when installed)
  tcplife         libbpf-tools tcplife (when installed)
  bpftrace        a bpftrace one-liner on sock:inet_sock_set_state

Load: tests/bench/loadgen.c in a network namespace created per run (deleted
after it), N connections from 2 client threads to 2 acceptor threads, the
server closing first. Ephemeral ports cannot run out: the client side keeps
no TIME_WAIT (the server closes first), the netns gets the port range
1024-65535, and clients spread over 200 loopback destinations: Linux
advances its ephemeral-port cursor by a random 2-16 per connect, so with
fewer destinations the even ports of one destination wrap within 60 s and
a SYN recycles the server's TIME_WAIT (an extra, real transition that only
tcpdwell sees). With 200, 200 000 connections keep exactly 10 transitions
each. tcpdwell gets --timewait-map 262144: 200 000 server-side TIME_WAIT
sockets outlive a run.

tcpdwell runs with --netns of the bench namespace (a filter in the kernel)
so that its delivered events can be checked exactly against the load (10
per connection + 2 for the listener): expected - delivered - ring-buffer
drops must lie between 0 and the recursion misses (a miss is a program that
did not run; not every miss loses an event). The reference tools cannot filter on a
netns; their output goes to a tmpfs file whose lines for the bench port
are counted.

Each program's own cost comes from the kernel (kernel.bpf_stats_enabled is
1 for the bench, its old value after): run_time_ns / run_cnt per program,
runs per connection and the sum of their time per connection.

Then a second load with no TCP churn (build/hostload): a getppid() loop
and a timer loop (blocking reads with SO_RCVTIMEO: a timer_list timer armed
and deleted per read), each with no tracer and with `tcpdwell trace -o
text` on the whole host, alternating: the cost to the rest of a production
host, and what each program costs for work that is not its own.

Then the census snapshot: --census-sockets (20 000) TIME_WAIT sockets in a
namespace of their own, and `tcpdwell timewait --once` timed against
`ss -tan state time-wait`, alternating, --census-reps times each (medians).
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpfprocs import prog_ids  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TCPDWELL = os.path.join(REPO, "tcpdwell")
LOADGEN = os.path.join(REPO, "build", "loadgen")
HOSTLOAD = os.path.join(REPO, "build", "hostload")
# the second load: no TCP, the tracer on the whole host (see host_run)
HOST_MODES = ("syscalls", "timers")
HOST_CONFIGS = ("none", "trace-text")
# each program's own cost, ns per run (docs/design.md §4)
BUDGET_NS = {"td_set_state": 300}
BUDGET_UNRELATED_NS = 25  # a program run for work that is not ours (host load)
PORT = 5001
BPFTRACE_STATES = (
    'tracepoint:sock:inet_sock_set_state /args->protocol == 6/ '
    '{ printf("%d %s %d %d %d -> %d\\n", pid, comm, args->sport, args->dport, '
    'args->oldstate, args->newstate); }')
CLK_TCK = os.sysconf("SC_CLK_TCK")


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


class Netns:
    def __init__(self):
        self.name = "tdbench-%d" % os.getpid()
        subprocess.run(["ip", "netns", "delete", self.name], stderr=subprocess.DEVNULL)
        sh("ip", "netns", "add", self.name)
        sh("ip", "-n", self.name, "link", "set", "lo", "up")
        for k, v in (("net.ipv4.ip_local_port_range", "1024 65535"),
                     ("net.ipv4.tcp_max_tw_buckets", "262144")):
            sh("ip", "netns", "exec", self.name, "sysctl", "-qw", "%s=%s" % (k, v))
        self.path = "/run/netns/" + self.name

    def delete(self):
        subprocess.run(["ip", "netns", "delete", self.name])


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except OSError:
        return 0.0


def peak_rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def prog_stats(ids):
    """What the kernel counted for each program: {name: run_cnt, run_time_ns,
    recursion_misses}. run_time_ns grows only while kernel.bpf_stats_enabled
    is 1 (see bpf_stats)."""
    out = {}
    for i in ids:
        p = subprocess.run(["bpftool", "-j", "prog", "show", "id", str(i)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            continue
        j = json.loads(p.stdout)
        out[j.get("name", str(i))] = {k: j.get(k, 0) for k in
                                      ("run_cnt", "run_time_ns", "recursion_misses")}
    return out


class bpf_stats:
    """kernel.bpf_stats_enabled=1 for the bench, the previous value after:
    each program's own cost (run_time_ns / run_cnt) is far steadier than a
    throughput ratio on a noisy machine."""
    PATH = "/proc/sys/kernel/bpf_stats_enabled"

    def __enter__(self):
        with open(self.PATH) as f:
            self.old = f.read().strip()
        with open(self.PATH, "w") as f:
            f.write("1")
        return self

    def __exit__(self, *exc):
        with open(self.PATH, "w") as f:
            f.write(self.old)


def add_prog_costs(res, stats, per):
    """Each program's ns per run and runs per unit of load (a connection,
    an operation), and the sum of their time per unit."""
    res["progs"] = {n: {"run_cnt": v["run_cnt"], "ns_per_run":
                        v["run_time_ns"] / v["run_cnt"] if v["run_cnt"] else None,
                        "runs_per_op": v["run_cnt"] / per if per else None}
                    for n, v in stats.items()}
    res["prog_ns_per_op"] = sum(v["run_time_ns"] for v in stats.values()) / per if per else None
    res["recursion_misses"] = sum(v["recursion_misses"] for v in stats.values())


def configs(available):
    c = {
        "none": None,
        "trace-text": ("tcpdwell", ["trace", "-o", "text"]),
        "trace-json": ("tcpdwell", ["trace", "-o", "json"]),
        # the same as trace-text, but the kernel wakes the reader per event
        "trace-wakeup": ("tcpdwell", ["trace", "-o", "text", "--wakeup-per-event"]),
        "dwell": ("tcpdwell", ["dwell"]),
        "timewait": ("tcpdwell", ["timewait"]),
    }
    if "tcpstates" in available:
        c["tcpstates"] = ("ref", [available["tcpstates"]])
    if "tcplife" in available:
        c["tcplife"] = ("ref", [available["tcplife"]])
    if "bpftrace" in available:
        c["bpftrace"] = ("ref", [available["bpftrace"], "-e", BPFTRACE_STATES])
    return c


def start_tracer(kind, args, ns, tmpdir):
    """Start a tracer, wait until it is attached. Returns (proc, out_path)."""
    out_path = None
    if kind == "tcpdwell":
        # the host load runs with no filter, as on a production host
        cmd = [TCPDWELL] + args + (["--netns", ns.path, "--timewait-map", "262144"]
                                   if ns else [])
        stdout = subprocess.DEVNULL
        if args[0] == "dwell":  # one report at exit
            cmd += ["-o", "json"]
            stdout = subprocess.PIPE
        elif args[0] == "timewait":  # a report per second: a file, never a full pipe
            cmd += ["-o", "json"]
            out_path = os.path.join(tmpdir, "tw-%d.json" % time.monotonic_ns())
            stdout = open(out_path, "w")
        err = tempfile.TemporaryFile(mode="w+", dir=tmpdir)
        p = subprocess.Popen(cmd, stdout=stdout, stderr=err, text=True)
        if out_path:
            stdout.close()  # the child has its own copy
        p.err_file = err
        deadline = time.time() + 30
        while time.time() < deadline:
            err.seek(0)
            if "tcpdwell: tracing" in err.read():
                return p, out_path
            if p.poll() is not None:
                err.seek(0)
                raise RuntimeError("tcpdwell failed: " + err.read())
            time.sleep(0.05)  # a poll interval
        raise RuntimeError("tcpdwell did not attach")
    out_path = os.path.join(tmpdir, "out-%d.txt" % time.monotonic_ns())
    out = open(out_path, "w")
    err = tempfile.TemporaryFile(mode="w+", dir=tmpdir)
    p = subprocess.Popen(args, stdout=out, stderr=err, text=True)
    p.err_file = err
    # reference tools print a header (or "Attaching") once attached
    deadline = time.time() + 60
    while time.time() < deadline:
        if os.path.getsize(out_path) > 0:
            break
        if p.poll() is not None:
            err.seek(0)
            raise RuntimeError("%s failed: %s" % (args[0], err.read()))
        time.sleep(0.1)  # a poll interval
    # a reference tool's header can come before its last probe is attached,
    # and it says nothing more: the one margin the bench cannot replace
    time.sleep(0.5)
    return p, out_path


def count_ref_events(out_path):
    """Lines of a reference tool's output that are about the bench port."""
    n = 0
    pat = re.compile(r"(^|\s)%d(\s|$)" % PORT)
    with open(out_path, errors="replace") as f:
        for line in f:
            if pat.search(line):
                n += 1
    return n


def one_run(name, cfg, conns, threads, tmpdir):
    ns = Netns()
    res = {"config": name}
    p = out_path = None
    ids = set()
    try:
        if cfg:
            p, out_path = start_tracer(cfg[0], cfg[1], ns, tmpdir)
            ids = prog_ids(p.pid)
            cpu0 = cpu_seconds(p.pid)
        lg = subprocess.run(["ip", "netns", "exec", ns.name, LOADGEN, "-n", str(conns),
                             "-c", str(threads), "-a", "200", "-p", str(PORT), "-t", "300"],
                            capture_output=True, text=True)
        if lg.returncode != 0:
            raise RuntimeError("loadgen failed: %s %s" % (lg.stdout, lg.stderr))
        load = json.loads(lg.stdout)
        res.update(rate=load["rate"], connections=load["connections"],
                   seconds=load["seconds"])
        if not p:
            return res
        # the tracer's CPU time includes its last drain (every 20 ms): a
        # measurement's margin, the counts are read after SIGINT anyway
        time.sleep(0.3)
        res["tracer_cpu_s"] = cpu_seconds(p.pid) - cpu0
        res["peak_rss_kib"] = peak_rss_kib(p.pid)
        add_prog_costs(res, prog_stats(ids), load["connections"])
        misses = res["recursion_misses"]
        p.send_signal(signal.SIGINT)
        try:
            stdout, _ = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            stdout, _ = p.communicate()
        p.err_file.seek(0)
        err = p.err_file.read()
        expected = 10 * load["connections"] + 2
        res["expected_events"] = expected
        res["recursion_misses"] = misses
        if cfg[0] == "tcpdwell":
            # transitions only: retransmits and resets (a SYN retransmit when the
            # accept queue overflows) are real events but not part of the 10
            m = re.search(r"\d+ events delivered \((\d+) transitions of which (\d+) "
                          r"timewait ends, (\d+) substate switches.*?; lost: (\d+) "
                          r"ring-buffer drops, (\d+) recursion misses", err)
            if cfg[1][0] == "dwell":
                loss = [json.loads(l) for l in (stdout or "").splitlines()
                        if l.startswith("{") and '"type":"loss"' in l]
                tot = [json.loads(l) for l in (stdout or "").splitlines()
                       if '"span":"total"' in l]
                states = tot[0]["states"] if tot else {}
                counted = sum(s["count"] for s in states.values())
                # a timewait socket that ended (recycled by a SYN) adds its dwell
                tw_ends = sum(states.get(k, {}).get("count", 0)
                              for k in ("TIME_WAIT", "FIN_WAIT2(tw)"))
                # every transition but the creation ones leaves a dwell time:
                # 8 per connection (SYN_SENT, SYN_RECV, ESTABLISHED x2, FIN_WAIT1,
                # FIN_WAIT2, CLOSE_WAIT, LAST_ACK) + the listener's LISTEN
                res["expected_events"] = expected = 8 * load["connections"] + 1 + tw_ends
                res["delivered"] = counted
                res["ringbuf_drops"] = 0
                res["recursion_misses"] = loss[0]["recursion_misses"] if loss else misses
            elif m:
                # a timewait socket recycled by a SYN ends within the run, and
                # an orphan whose peer's FIN came after it entered FIN_WAIT2(tw)
                # switches to TIME_WAIT: real transitions beyond the 10 per
                # connection
                res["expected_events"] = expected = (expected + int(m.group(2)) +
                                                     int(m.group(3)))
                if cfg[1][0] == "timewait":
                    # only timewait transitions: one entry per connection (the
                    # server's), the FIN_WAIT2(tw) -> TIME_WAIT switches of the
                    # orphans among them, and the ends
                    with open(out_path) as f:
                        reps = [json.loads(l) for l in f if '"type":"timewait"' in l]
                    entered = sum(r["entered"] for r in reps)
                    switched = sum(r["switched"] for r in reps)
                    res["expected_events"] = expected = (load["connections"] + switched +
                                                         int(m.group(2)))
                    if entered != load["connections"]:
                        res["census_entered"] = entered  # shows up as unaccounted
                res["delivered"] = int(m.group(1))
                res["ringbuf_drops"] = int(m.group(4))
                res["recursion_misses"] = int(m.group(5))
        else:
            if name == "tcplife":  # one line per closed socket, not per transition
                res["expected_events"] = expected = 2 * load["connections"]
            res["delivered"] = count_ref_events(out_path)
            lost = sum(int(x) for x in re.findall(r"[Ll]ost (\d+) events", err))
            res["ringbuf_drops"] = lost
        if "delivered" in res:
            # A recursion miss is a program that did not run; not every one
            # would have emitted an event (td_timer_start runs for every
            # kernel timer), so misses bound the events lost, they do not
            # count them. Unaccounted: events neither delivered nor dropped
            # beyond what the misses can explain, or more than expected.
            missing = expected - res["delivered"] - res["ringbuf_drops"]
            res["unaccounted"] = (missing - res["recursion_misses"] if missing > 0 else
                                  missing)
            if 0 <= missing <= res["recursion_misses"]:
                res["unaccounted"] = 0
            if "census_entered" in res:
                res["unaccounted"] += res["census_entered"] - load["connections"]
            if res["delivered"]:
                res["cpu_s_per_million"] = res["tracer_cpu_s"] / res["delivered"] * 1e6
        return res
    finally:
        if p and p.poll() is None:
            p.kill()
            p.wait()
        if out_path and os.path.exists(out_path):
            os.unlink(out_path)
        ns.delete()


def host_run(name, cfg, mode, count, tmpdir):
    """hostload MODE COUNT with no tracer or with cfg tracing the whole
    host: the cost of tcpdwell to work that has no TCP in it. The programs'
    counts are taken around the load alone."""
    res = {"config": name, "mode": mode}
    p = None
    try:
        if cfg:
            p, _ = start_tracer(cfg[0], cfg[1], None, tmpdir)
            ids = prog_ids(p.pid)
            before = prog_stats(ids)
        h = subprocess.run([HOSTLOAD, mode, str(count)], capture_output=True, text=True)
        if h.returncode != 0:
            raise RuntimeError("hostload failed: %s %s" % (h.stdout, h.stderr))
        load = json.loads(h.stdout)
        res.update(rate=load["rate"], operations=load["operations"], seconds=load["seconds"])
        if p:
            after = prog_stats(ids)
            delta = {n: {k: v[k] - before.get(n, {}).get(k, 0) for k in v}
                     for n, v in after.items()}
            add_prog_costs(res, delta, load["operations"])
        return res
    finally:
        if p:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def census_timing(count, reps):
    """`tcpdwell timewait --once` against `ss -tan state time-wait` with
    `count` TIME_WAIT sockets in a namespace (server-side, from loadgen)."""
    ns = Netns()
    try:
        lg = subprocess.run(["ip", "netns", "exec", ns.name, LOADGEN, "-n", str(count),
                             "-c", "2", "-a", "200", "-p", str(PORT), "-t", "120"],
                            capture_output=True, text=True)
        if lg.returncode != 0:
            raise RuntimeError("loadgen failed: %s" % lg.stderr)
        cmds = {"tcpdwell": [TCPDWELL, "timewait", "--once", "--netns", ns.path],
                "ss": ["ss", "-N", ns.name, "-tan", "state", "time-wait"]}
        times = {k: [] for k in cmds}
        for rep in range(reps):
            for k in (list(cmds) if rep % 2 == 0 else reversed(list(cmds))):
                t0 = time.monotonic()
                subprocess.run(cmds[k], stdout=subprocess.DEVNULL, check=True)
                times[k].append(time.monotonic() - t0)
        once = subprocess.run(cmds["tcpdwell"] + ["-o", "json"], capture_output=True,
                              text=True, check=True)
        report = json.loads(once.stdout.splitlines()[0])
        counted = report["count"]
        listed = len(subprocess.run(cmds["ss"] + ["-H"], capture_output=True, text=True,
                                    check=True).stdout.splitlines())
        # `ss state time-wait` leaves out the FIN_WAIT2 substate: compare like with like
        res = {"sockets": counted, "time_wait": report["substates"]["TIME_WAIT"],
               "ss_lines": listed, "reps": reps}
        for k, v in times.items():
            res[k + "_ms"] = statistics.median(v) * 1000
        res["ratio_to_ss"] = res["tcpdwell_ms"] / res["ss_ms"]
        return res
    finally:
        ns.delete()


def median(rows, key):
    vals = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def summarize(runs, names):
    base = median([r for r in runs if r["config"] == "none"], "rate")
    out = []
    for n in names:
        rows = [r for r in runs if r["config"] == n]
        rate = median(rows, "rate")
        s = {"config": n, "runs": len(rows), "median_rate": rate,
             "ratio_to_none": rate / base if base and rate else None}
        for k in ("tracer_cpu_s", "cpu_s_per_million", "peak_rss_kib", "delivered",
                  "expected_events", "ringbuf_drops", "recursion_misses", "unaccounted"):
            s[k] = median(rows, k)
        s["prog_ns_per_conn"] = median(rows, "prog_ns_per_op")
        s["progs"] = prog_summary(rows)
        out.append(s)
    by = {s["config"]: s for s in out}
    if "tcpstates" in by and by["tcpstates"]["median_rate"]:
        for s in out:
            s["ratio_to_tcpstates"] = s["median_rate"] / by["tcpstates"]["median_rate"]
    return out


def prog_summary(rows):
    """Medians over runs of each program's ns per run and runs per op."""
    out = {}
    for n in sorted({n for r in rows for n in r.get("progs", {})}):
        ps = [r["progs"][n] for r in rows if n in r.get("progs", {})]
        out[n] = {"ns_per_run": median(ps, "ns_per_run"),
                  "runs_per_op": median(ps, "runs_per_op")}
    return out


def summarize_host(runs):
    out = []
    for mode in [m for m in HOST_MODES if any(r["mode"] == m for r in runs)]:
        base = median([r for r in runs if r["mode"] == mode and r["config"] == "none"], "rate")
        for n in HOST_CONFIGS:
            rows = [r for r in runs if r["mode"] == mode and r["config"] == n]
            rate = median(rows, "rate")
            out.append({"mode": mode, "config": n, "runs": len(rows), "median_rate": rate,
                        "ratio_to_none": rate / base if base and rate else None,
                        "prog_ns_per_op": median(rows, "prog_ns_per_op"),
                        "progs": prog_summary(rows)})
    return out


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(summary, meta):
    print("\n%s, kernel %s, %d CPUs; %d connections x %d runs per config"
          % (meta["machine"], meta["kernel"], meta["cpus"], meta["connections"], meta["reps"]))
    print("%-11s %9s %6s %8s %9s %8s %10s %10s %7s %7s %7s" % (
        "config", "conn/s", "ratio", "vs tcpst", "cpu s/M", "rss MiB", "delivered", "expected",
        "drops", "misses", "unacct"))
    for s in summary:
        print("%-11s %9s %6s %8s %9s %8s %10s %10s %7s %7s %7s" % (
            s["config"], fmt(s["median_rate"], ".0f"), fmt(s["ratio_to_none"], ".2f"),
            fmt(s.get("ratio_to_tcpstates"), ".2f"), fmt(s["cpu_s_per_million"], ".2f"),
            fmt(s["peak_rss_kib"] and s["peak_rss_kib"] / 1024, ".1f"),
            fmt(s["delivered"], ".0f"), fmt(s["expected_events"], ".0f"),
            fmt(s["ringbuf_drops"], ".0f"), fmt(s["recursion_misses"], ".0f"),
            fmt(s["unaccounted"], ".0f")))


def print_host_table(host, reps):
    print("\nno TCP churn, tracer on the whole host (build/hostload; %d runs per config)" % reps)
    print("%-9s %-11s %11s %6s %10s" % ("load", "config", "ops/s", "ratio", "prog ns/op"))
    for s in host:
        print("%-9s %-11s %11s %6s %10s" % (
            s["mode"], s["config"], fmt(s["median_rate"], ".0f"),
            fmt(s["ratio_to_none"], ".3f"), fmt(s["prog_ns_per_op"], ".1f")))


def print_prog_table(summary, host):
    """Each program's own cost (kernel.bpf_stats_enabled), medians: under
    churn per connection, under the host load per operation."""
    print("\nper program: runs per connection (churn) or operation (host load), "
          "ns per run")
    print("%-20s %-20s %9s %8s %7s" % ("load/config", "program", "runs/op", "ns/run",
                                       "budget"))
    rows = [("churn/" + s["config"], s, BUDGET_NS) for s in summary] + \
        [("%s/%s" % (s["mode"], s["config"]), s,
          {n: BUDGET_UNRELATED_NS for n in s["progs"]}) for s in host]
    for label, s, budget in rows:
        for n, v in s.get("progs", {}).items():
            if v["runs_per_op"]:
                print("%-20s %-20s %9.3f %8s %7s" % (
                    label, n, v["runs_per_op"], fmt(v["ns_per_run"], ".0f"),
                    budget.get(n, "")))
        total = s.get("prog_ns_per_conn", s.get("prog_ns_per_op"))
        if total is not None:
            print("%-20s %-20s %9s %8.0f  (sum per %s)" % (
                label, "all", "", total,
                "connection" if "prog_ns_per_conn" in s else "operation"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--connections", type=int, default=200000)
    ap.add_argument("-r", "--reps", type=int, default=5)
    ap.add_argument("-c", "--threads", type=int, default=2)
    ap.add_argument("--configs", help="comma list (default: all available)")
    ap.add_argument("-o", "--output", default=os.path.join(REPO, "build", "bench-results.json"))
    ap.add_argument("--census-sockets", type=int, default=20000)
    ap.add_argument("--census-reps", type=int, default=11)
    ap.add_argument("--host-syscalls", type=int, default=5000000,
                    help="getppid() calls per host-load run (0: no host load)")
    ap.add_argument("--host-timers", type=int, default=200000,
                    help="timer round trips per host-load run (0: none)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny run for the test suite: checks the bench still works")
    a = ap.parse_args()
    if a.smoke:
        a.connections, a.reps = 2000, 1
        a.census_sockets, a.census_reps = 2000, 1
        a.host_syscalls, a.host_timers = 200000, 20000
        a.configs = a.configs or "none,trace-text,trace-json,dwell,timewait"
    if os.geteuid() != 0:
        sys.exit("bench: needs root (BPF, network namespaces)")
    for f in (TCPDWELL, LOADGEN, HOSTLOAD):
        if not os.access(f, os.X_OK):
            sys.exit("bench: %s missing (make tcpdwell build/loadgen build/hostload)" % f)
    available = {t: shutil.which(t) for t in ("tcpstates", "tcplife", "bpftrace") if shutil.which(t)}
    allc = configs(available)
    names = a.configs.split(",") if a.configs else list(allc)
    for n in names:
        if n not in allc:
            sys.exit("bench: unknown or unavailable config %s (have: %s)" % (n, ",".join(allc)))
    meta = {"machine": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
            "connections": a.connections, "reps": a.reps, "threads": a.threads,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "reference_tools": available}
    runs, host_runs = [], []
    host_counts = {"syscalls": a.host_syscalls, "timers": a.host_timers}
    host_modes = [m for m in HOST_MODES if host_counts[m] > 0]
    tmpdir = tempfile.mkdtemp(prefix="tdbench-", dir="/dev/shm")
    try:
        with bpf_stats():
            for rep in range(a.reps):
                order = names if rep % 2 == 0 else list(reversed(names))
                for n in order:
                    r = one_run(n, allc[n], a.connections, a.threads, tmpdir)
                    r["rep"] = rep
                    runs.append(r)
                    print("rep %d %-11s %8.0f conn/s%s" % (
                        rep, n, r["rate"], "" if "delivered" not in r else
                        "  delivered %d/%d" % (r["delivered"], r["expected_events"])),
                        file=sys.stderr, flush=True)
            for rep in range(a.reps):
                order = HOST_CONFIGS if rep % 2 == 0 else tuple(reversed(HOST_CONFIGS))
                for mode in host_modes:
                    for n in order:
                        r = host_run(n, allc[n], mode, host_counts[mode], tmpdir)
                        r["rep"] = rep
                        host_runs.append(r)
                        print("rep %d %-8s %-11s %10.0f ops/s" % (rep, mode, n, r["rate"]),
                              file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    summary = summarize(runs, names)
    host = summarize_host(host_runs) if host_runs else []
    print_table(summary, meta)
    if host:
        print_host_table(host, a.reps)
    print_prog_table(summary, host)
    census = census_timing(a.census_sockets, a.census_reps) if a.census_sockets else None
    if census:
        print("\ntimewait --once, %d timewait sockets (%d in TIME_WAIT, ss lists %d): %.1f ms; "
              "ss -tan state time-wait: %.1f ms; ratio %.2f (medians of %d)" % (
                  census["sockets"], census["time_wait"], census["ss_lines"],
                  census["tcpdwell_ms"],
                  census["ss_ms"], census["ratio_to_ss"], census["reps"]))
    os.makedirs(os.path.dirname(a.output), exist_ok=True)
    with open(a.output, "w") as f:
        json.dump({"meta": meta, "summary": summary, "census_once": census, "host": host,
                   "runs": runs, "host_runs": host_runs},
                  f, indent=1)
    print("\nJSON: %s" % a.output)
    if a.smoke:
        bad = [s for s in summary if s["config"] != "none" and s["unaccounted"] != 0]
        if bad:
            sys.exit("bench smoke: unaccounted events: %s" % bad)
        costs = [s for s in summary if s["config"].startswith("trace")]
        if any(not s["progs"].get("td_set_state", {}).get("ns_per_run") for s in costs):
            sys.exit("bench smoke: no per-program cost for td_set_state: %s" % costs)
        if len(host) != len(HOST_CONFIGS) * len(HOST_MODES) or \
                any(not s["median_rate"] for s in host):
            sys.exit("bench smoke: the host load did not run: %s" % host)
        if census["time_wait"] != census["ss_lines"]:
            sys.exit("bench smoke: the census counted %d in TIME_WAIT, ss listed %d" % (
                census["time_wait"], census["ss_lines"]))


if __name__ == "__main__":
    main()

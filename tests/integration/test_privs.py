"""Least privilege: once its programs are attached and its maps and ring
buffer open, tcpdwell keeps only the capabilities it still needs (and
the bounding set shrinks with them, so nothing can regain the rest), and
still works: events are traced and the loss counters read at exit."""
import json
import os
import shutil
import signal
import subprocess
import tempfile

from conftest import BIN, READY_S, wait_until

CAP_DAC_OVERRIDE, CAP_KILL, CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF = 1, 5, 19, 21, 38, 39


def caps(pid):
    out = {}
    for line in open("/proc/%d/status" % pid):
        k, _, v = line.partition(":")
        if k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            out[k] = int(v, 16)
    return out


def bits(*caps):
    return sum(1 << c for c in caps)


def test_trace_keeps_only_cap_bpf(netns, tracer):
    # fin_timeout < 60 s: the FIN_WAIT2(tw) -> TIME_WAIT re-arm is seen (see test_trace)
    netns.sysctl("net.ipv4.tcp_fin_timeout", 5)
    t = tracer("trace", "--netns", "/run/netns/" + netns.name)
    c = caps(t.proc.pid)
    assert c == {"CapInh": 0, "CapPrm": bits(CAP_BPF), "CapEff": bits(CAP_BPF),
                 "CapBnd": bits(CAP_BPF), "CapAmb": 0}, c
    r = netns.scenario("client_close", 0, 0.3)
    t.stop()
    assert t.clean(), t.stderr
    evs = [e for e in t.events(netns) if e["lport"] == r["client"]["lport"]]
    assert [e["new"] for e in evs if e["type"] == "state"][-1] == "TIME_WAIT"
    # the maps were still readable: the loss record is real
    assert t.loss()["delivered"] == len(t.events()) and t.loss()["lost"] == 0


def test_timewait_keeps_what_its_intervals_need(netns, tracer):
    t = tracer("timewait", "--netns", "/run/netns/" + netns.name, "-i", "0.2")
    want = bits(CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, CAP_SYS_PTRACE)
    assert caps(t.proc.pid)["CapEff"] == want == caps(t.proc.pid)["CapBnd"]
    netns.scenario("many_client_close", 3)

    def counted():  # an interval in the other namespace, after the drop
        return any(r.get("type") == "timewait" and r.get("count") == 3
                   for r in t.records_so_far())

    wait_until(counted, 3 + READY_S, "a timewait report counting 3",
               alive=lambda: t.proc.poll() is None)
    t.stop()
    reports = [r for r in t.records() if r["type"] == "timewait"]
    assert reports and reports[-1]["count"] == 3, t.stdout[-800:]


def test_run_keeps_cap_kill_and_the_command_keeps_its_own(bpf, tmp_path):
    p = subprocess.Popen([BIN, "run", "--", "sh", "-c", "echo up; exec sleep 30"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "up\n"
    child = int(subprocess.run(["pgrep", "-P", str(p.pid), "-x", "sleep"],
                               capture_output=True, text=True).stdout.split()[0])
    try:
        assert caps(p.pid)["CapEff"] == bits(CAP_BPF, CAP_KILL, CAP_DAC_OVERRIDE, CAP_PERFMON,
                                             CAP_SYS_ADMIN, CAP_SYS_PTRACE)
        # forked before the drop and exec'd as root: the command is not limited
        assert caps(child)["CapEff"] & bits(CAP_SYS_ADMIN)
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=20)


def test_hidden_kernel_addresses_are_reported(netns):
    """Without CAP_SYSLOG the kernel may hide addresses in /proc/kallsyms
    (kptr_restrict, perf_event_paranoid): TIME_WAIT tracking then cannot
    work, and tcpdwell and doctor must say so, not go silently blind."""
    nosyslog = ["setpriv", "--bounding-set=-syslog", "--inh-caps=-all"]
    ksyms = subprocess.run(nosyslog + ["grep", "-m1", " tw_timer_handler$", "/proc/kallsyms"],
                           capture_output=True, text=True, check=True).stdout
    hidden = int(ksyms.split()[0], 16) == 0  # the ground truth, seen the same way
    p = subprocess.run(nosyslog + [BIN, "trace", "--netns", "/run/netns/" + netns.name,
                                   "-o", "json", "-d", "0.3"],
                       capture_output=True, text=True, timeout=30)
    loss = json.loads(p.stdout.splitlines()[-1])
    assert loss["type"] == "loss"
    assert ("kernel addresses hidden" in (loss["degraded"] or "")) == hidden, loss["degraded"]
    d = subprocess.run(nosyslog + [BIN, "doctor", "-o", "json"], capture_output=True,
                       text=True, timeout=60)
    check = [c for c in json.loads(d.stdout)["checks"] if c["check"] == "ksym tw_timer_handler"]
    assert check and (check[0]["status"] == "degraded") == hidden, check


def test_replay_needs_no_privilege(netns, tmp_path):
    """A recording may come from another machine: replay parses it with no
    capability at all, and works as nobody."""
    rec = str(tmp_path / "r.tdrec")
    p = subprocess.Popen([BIN, "record", "-w", rec, "--netns", "/run/netns/" + netns.name],
                         stderr=subprocess.PIPE, text=True)
    assert "tcpdwell: tracing" in p.stderr.readline()
    r = netns.scenario("client_close", 0, 0)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=20)
    d = tempfile.mkdtemp()  # pytest's own directories are root's alone
    try:
        os.chmod(d, 0o755)
        shutil.copy(rec, d)
        os.chmod(os.path.join(d, "r.tdrec"), 0o644)
        q = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            "--inh-caps=-all", BIN, "replay", os.path.join(d, "r.tdrec"),
                            "trace", "-o", "json"], capture_output=True, text=True, timeout=30)
    finally:
        shutil.rmtree(d)
    assert q.returncode == 0, q.stderr
    ports = {json.loads(l)["lport"] for l in q.stdout.splitlines()[:-1]}
    assert r["client"]["lport"] in ports and r["server"]["port"] in ports


def test_record_keeps_cap_bpf_after_its_census(netns, tmp_path):
    p = subprocess.Popen([BIN, "record", "-w", str(tmp_path / "r.tdrec"), "--netns",
                          str(netns.inum)], stderr=subprocess.PIPE, text=True)
    try:
        assert "tcpdwell: tracing" in p.stderr.readline()
        # the census at start runs with everything, then the drop
        wait_until(lambda: caps(p.pid)["CapEff"] == bits(CAP_BPF), READY_S,
                   "record's capabilities dropped to CAP_BPF", alive=lambda: p.poll() is None)
        assert caps(p.pid)["CapEff"] == bits(CAP_BPF) == caps(p.pid)["CapBnd"]
    finally:
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=20)
    assert p.returncode == 0

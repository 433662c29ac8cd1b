"""Which container owns a connection: the owner's cgroup v2 id, its path
below the cgroup2 mount and the container (or pod, or unit) the path
derives, on every record; -C as a text column; carried by recordings.

The containers are cgroups made by the test with the names the runtimes
give theirs (docker-<id>.scope, kubepods ... cri-containerd-<id>.scope);
the ground truth is the directory itself: its inode is the id the kernel
reports, its path the name."""
import hashlib
import os
import subprocess

from conftest import BIN, gated, release, wait_until
from test_record import jlines, replay


def cg_own(pid):
    """The cgroup v2 path of a process (its "0::" line)."""
    with open("/proc/%d/cgroup" % pid) as f:
        return [l.split(":", 2)[2].strip() for l in f if l.startswith("0::")][0]


class Cgroup:
    """A directory under the cgroup2 mount, made as a runtime would name
    it; removed (with its parents below the mount) by remove()."""

    def __init__(self, mount, *parts):
        self.mount = mount
        self.rel = "/" + "/".join(parts)
        self.path = mount + self.rel
        self.made = []
        d = mount
        for p in parts:
            d = os.path.join(d, p)
            if not os.path.isdir(d):
                os.mkdir(d)
                self.made.append(d)
        self.id = os.stat(self.path).st_ino

    def enter(self):
        return "echo $$ > %s/cgroup.procs" % self.path

    def remove(self):
        for d in reversed(self.made):
            os.rmdir(d)
        self.made = []


def hex_id(tag):
    return hashlib.sha256(("%s-%d" % (tag, os.getpid())).encode()).hexdigest()


def docker(cgroup2):
    return hex_id("docker"), lambda cid: Cgroup(cgroup2, "tdtest-%d.slice" % os.getpid(),
                                               "docker-%s.scope" % cid)


def test_trace_names_the_container(netns, tracer, cgroup2):
    cid, make = docker(cgroup2)
    # made after the tracer started: an id it has not seen sends it to
    # the hierarchy again
    t = tracer("trace", "--netns", "/run/netns/" + netns.name)
    cg = make(cid)
    try:
        inside = gated(netns, "many_client_close", 2, pre=cg.enter())
        outside = gated(netns, "many_client_close", 2)
        release(inside, outside)
        t.stop()
    finally:
        cg.remove()
    assert t.clean(), t.stderr
    evs = [e for e in t.events(netns) if e["type"] == "state" and e["owner"] != "none"]
    mine = [e for e in evs if e["pid"] == inside.pid]
    # 2 clients, 2 accepted, the listener
    assert len({e["cookie"] for e in mine}) == 5
    for e in mine:
        assert e["cgroup"] == cg.id
        assert e["cgroup_path"] == cg.rel
        assert (e["container"], e["container_kind"], e["pod"]) == (cid, "docker", None)
    others = [e for e in evs if e["pid"] == outside.pid]
    assert others and all(e["cgroup_path"] == cg_own(os.getpid()) and e["container"] != cid
                          for e in others)


def test_containers_column(netns, tracer, cgroup2):
    cid, make = docker(cgroup2)
    cg = make(cid)
    try:
        inside = gated(netns, "many_client_close", 1, pre=cg.enter(), env={"TD_COMM": "tdinside"})
        t = tracer("trace", "-C", "--netns", "/run/netns/" + netns.name, fmt="text")
        release(inside)
        t.stop()
    finally:
        cg.remove()
    lines = t.stdout.splitlines()
    assert lines[0].split()[:4] == ["TIME(s)", "PID", "COMM", "CONTAINER"]
    mine = [l.split() for l in lines if " tdinside " in l]
    assert len(mine) >= 3 and all(w[2:4] == ["tdinside", cid[:12]] for w in mine), mine


def test_kubernetes_pod_and_timeline(netns, tracer, cgroup2):
    uid = hex_id("pod")[:32]
    uid = "-".join([uid[:8], uid[8:12], uid[12:16], uid[16:20], uid[20:32]])
    cid = hex_id("cri")
    cg = Cgroup(cgroup2, "tdtest-%d" % os.getpid(), "kubepods.slice",
                "kubepods-burstable.slice",
                "kubepods-burstable-pod%s.slice" % uid.replace("-", "_"),
                "cri-containerd-%s.scope" % cid)
    try:
        inside = gated(netns, "many_client_close", 2, pre=cg.enter())
        t = tracer("timeline", "--netns", "/run/netns/" + netns.name)
        release(inside)
        t.stop()
    finally:
        cg.remove()
    conns = [c for c in t.records() if c["type"] == "connection" and c["pid"] == inside.pid]
    assert len(conns) == 4  # both ends of 2 (a listener is no connection)
    assert all((c["cgroup"], c["cgroup_path"], c["container"], c["container_kind"], c["pod"]) ==
               (cg.id, cg.rel, cid, "containerd", uid) for c in conns), conns[0]


def test_recording_carries_the_names(netns, tracer, cgroup2, tmp_path):
    """Replayed after the container is gone (or on another host): the
    names are the recording's, the same as the live trace printed."""
    cid, make = docker(cgroup2)
    path = str(tmp_path / "c.tdw")
    cg = make(cid)
    try:
        inside = gated(netns, "many_client_close", 2, pre=cg.enter())
        rec = tracer("record", "-w", path, "--netns", str(netns.inum), fmt="text")
        live = tracer("trace", "--netns", "/run/netns/" + netns.name)
        release(inside)
        rec.stop()
        live.stop()
    finally:
        cg.remove()
    assert rec.returncode == 0, rec.stderr
    assert not os.path.exists(cg.path)
    p = replay(path, "-o", "json")
    assert p.returncode == 0, p.stderr
    got = [e for e in jlines(p.stdout) if e.get("pid") == inside.pid]
    assert got and all((e["cgroup"], e["cgroup_path"], e["container"]) == (cg.id, cg.rel, cid)
                       for e in got)
    names = {(e["cookie"], e["cgroup_path"], e["container"]) for e in live.events(netns)
             if e["pid"] == inside.pid}
    assert names == {(e["cookie"], e["cgroup_path"], e["container"]) for e in got}
    # timeline -C on the replay: the short id on each connection
    p = replay(path, "timeline", "-C")
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("  container %s\n" % cid[:12]) == 4


def cookies_by_pid(t, netns):
    out = {}
    for e in t.events(netns):
        if e["type"] == "state":
            out.setdefault(e["pid"], set()).add(e["cookie"])
    return out


def test_cgroup_filter_takes_several_and_below(netns, tracer, cgroup2):
    """--cgroup twice: both directories and what is below them, a cgroup
    made after the start included; nothing from outside either."""
    top = "tdtest-%d.slice" % os.getpid()
    a = Cgroup(cgroup2, top, "a.slice")
    b = Cgroup(cgroup2, top, "b.service")
    try:
        t = tracer("trace", "--netns", "/run/netns/" + netns.name,
                   "--cgroup", a.path, "--cgroup", b.path)
        below = Cgroup(cgroup2, top, "a.slice", "late.scope")  # made after the start
        try:
            pa = gated(netns, "many_client_close", 2, pre=below.enter())
            pb = gated(netns, "many_client_close", 2, pre=b.enter())
            out = gated(netns, "many_client_close", 2)
            release(pa, pb, out)
            t.stop()
        finally:
            below.remove()
    finally:
        b.remove()
        a.remove()
    assert t.clean(), t.stderr
    got = cookies_by_pid(t, netns)
    # each: 2 clients, 2 accepted, the listener
    assert set(got) == {pa.pid, pb.pid} and all(len(c) == 5 for c in got.values()), got
    paths = {e["cgroup_path"] for e in t.events(netns) if e["type"] == "state"}
    assert paths == {below.rel, b.rel}


def test_container_filter(netns, tracer, cgroup2, tmp_path):
    """--container by the id's first 12 digits: the container's processes,
    in its scope or below it; live and on a replay of a recording."""
    cid, make = docker(cgroup2)
    cg = make(cid)
    sub = Cgroup(cgroup2, *cg.rel.strip("/").split("/"), "init.scope")
    path = str(tmp_path / "f.tdw")
    try:
        rec = tracer("record", "-w", path, "--netns", str(netns.inum), fmt="text")
        t = tracer("trace", "--netns", "/run/netns/" + netns.name, "--container", cid[:12])
        inside = gated(netns, "many_client_close", 2, pre=sub.enter())
        out = gated(netns, "many_client_close", 2)
        release(inside, out)
        t.stop()
        rec.stop()
    finally:
        sub.remove()
        cg.remove()
    assert t.clean(), t.stderr
    got = cookies_by_pid(t, netns)
    assert set(got) == {inside.pid} and len(got[inside.pid]) == 5, got
    assert all(e["container"] == cid for e in t.events(netns))
    p = replay(path, "-o", "json", "--container", cid[:12])
    assert p.returncode == 0, p.stderr
    evs = [e for e in jlines(p.stdout) if e["type"] == "state"]
    assert {e["cookie"] for e in evs} == got[inside.pid]
    # no such container: said, exit 2
    p = subprocess.run([BIN, "trace", "--container", "f" * 12, "-d", "1"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stderr.strip().endswith("--container %s: no cgroup derives such a container"
                                     % ("f" * 12)), p.stderr


def test_timewait_by_container(netns, tracer, cgroup2):
    """timewait -C: the namespace's TIME_WAITs by their owners' container,
    every socket in one row, other or unknown."""
    cid, make = docker(cgroup2)
    cg = make(cid)
    try:
        t = tracer("timewait", "-C", "--netns", "/run/netns/" + netns.name, "-i", "0.2")
        inside = gated(netns, "many_client_close", 3, pre=cg.enter())
        out = gated(netns, "many_client_close", 2)
        release(inside, out)

        def rows():
            reps = [r for r in t.records_so_far() if r.get("type") == "timewait"]
            return reps and reps[-1]["count"] == 5 and reps[-1]

        wait_until(rows, 30, "a report of the 5 TIME_WAITs", alive=lambda: t.proc.poll() is None)
        t.stop()
    finally:
        cg.remove()
    rep = [r for r in t.records() if r["type"] == "timewait" and r["count"] == 5][-1]
    by = {(g["container"], g["kind"], g["unit"]): g["count"] for g in rep["by_container"]}
    assert by.pop((cid, "docker", None)) == 3, rep["by_container"]
    # the other process's 2: wherever the test runs, one row
    assert list(by.values()) == [2] and rep["containers_total"] == 2
    assert rep["containers_other"] == 0 and rep["containers_unknown"] == 0


def test_export_by_container(netns, tracer, cgroup2):
    """export --label-containers: dwell histograms and TIME_WAIT counts of
    the listed container's connections under its label (its cgroup made
    after the exporter started), everything else as other; promtool
    finds the exposition clean."""
    from test_export import get, parse, scrape_until, start_exporter, total
    cid, make = docker(cgroup2)
    t, port = start_exporter(tracer, netns, "--label-containers", cid[:12] + ",feedface")
    cg = make(cid)
    try:
        inside = gated(netns, "many_client_close", 3, pre=cg.enter())
        out = gated(netns, "many_client_close", 2)
        release(inside, out)
        name = "tcpdwell_container_timewait_sockets"
        scrape_until(t, port, lambda s: total(s, name) == 5 and total(
            s, "tcpdwell_container_dwell_seconds_count", state="LAST_ACK") == 5,
            "the exporter counting both scenarios")
        st, _, text = get(port)
    finally:
        cg.remove()
    assert st == 200
    s = parse(text)
    assert total(s, name, container=cid[:12]) == 3
    assert total(s, name, container="other") == 2 and total(s, name, container="feedface") == 0
    dwell = "tcpdwell_container_dwell_seconds_count"
    # both ends of each connection were established: 2 per connection
    assert total(s, dwell, container=cid[:12], state="ESTABLISHED") == 6
    assert total(s, dwell, container="other", state="ESTABLISHED") == 4
    assert {l["container"] for n, l, _ in s if "container" in l} == {cid[:12], "feedface",
                                                                    "other"}
    # the labelled families add up to the unlabelled one
    assert total(s, dwell, state="ESTABLISHED") == total(
        s, "tcpdwell_dwell_seconds_count", state="ESTABLISHED")
    assert total(s, "tcpdwell_container_dwell_unrecorded_total") == 0
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                          text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr

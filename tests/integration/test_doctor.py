"""`tcpdwell doctor`: its facts are the kernel's (the same BTF lookups the
tests and the BPF side's CO-RE probes make), on this host and in the
guests of make vmtest."""
import json
import os
import subprocess

from conftest import BIN, READY_S, kernel_has_field, retrans_err, rst_reasons


def doctor(*args, user=None):
    cmd = [BIN, "doctor", *args]
    if user:
        cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_doctor_facts_match_the_kernel(bpf):
    p = doctor("-o", "json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    checks = {c["check"]: c for c in d["checks"]}
    assert d["can_run"] is True
    assert all(c["status"] in ("ok", "info", "degraded", "missing") for c in d["checks"])
    assert checks["privileges"]["status"] == checks["btf"]["status"] == "ok"
    assert checks["bpf programs"]["status"] == "ok"
    assert checks["tracepoint sock:inet_sock_set_state"]["status"] == "ok"
    # the facts that differ between 6.1 and 6.18
    assert (checks["tcp_retransmit_skb err"]["status"] == "ok") == retrans_err()
    assert (checks["tcp_send_reset reason"]["status"] == "ok") == rst_reasons()
    assert (checks["netns timewait count"]["status"] == "ok") == (
        kernel_has_field("inet_timewait_death_row", "tw_refcount")
        or kernel_has_field("inet_timewait_death_row", "tw_count"))
    assert not [c for c in d["checks"] if c["essential"] and c["status"] != "ok"]
    # what the loss summary shows: the kernel's count, or null (n/a) where
    # it keeps none (before 5.12)
    t = subprocess.run([BIN, "trace", "-d", "0.1", "-o", "json"], capture_output=True,
                       text=True, timeout=60 + READY_S)
    loss = json.loads(t.stdout.splitlines()[-1])
    counted = kernel_has_field("bpf_prog_info", "recursion_misses")
    assert (checks["recursion misses"]["status"] == "ok") == counted
    assert (loss["recursion_misses"] is None) == (not counted), loss
    assert all((p["recursion_misses"] is None) == (not counted) for p in loss["programs"])
    assert ("n/a recursion misses" in t.stderr) == (not counted), t.stderr


def test_doctor_text_and_an_unprivileged_user(bpf):
    p = doctor()
    assert p.returncode == 0 and p.stdout.splitlines()[-1] == "tcpdwell can run here"
    # nobody: the main job cannot run, and the doctor says why (exit 2)
    p = doctor(user=65534)
    assert p.returncode == 2, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert any(l.startswith("missing") and "privileges" in l and "CAP_BPF" in l for l in lines)
    assert lines[-1] == "tcpdwell cannot run here: see the missing checks above"


def cap_eff():
    for line in open("/proc/self/status"):
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)


def test_doctor_capabilities_features_and_mounts(bpf):
    d = json.loads(doctor("-o", "json").stdout)
    checks = {c["check"]: c for c in d["checks"]}
    # the capabilities it lists are this process's effective set
    caps = checks["capabilities"]["detail"]
    eff = cap_eff()
    have = caps.split("effective: ")[1].split(";")[0].split()
    for bit, name in ((39, "CAP_BPF"), (38, "CAP_PERFMON"), (21, "CAP_SYS_ADMIN"),
                      (12, "CAP_NET_ADMIN"), (24, "CAP_SYS_RESOURCE")):
        assert (name in have) == bool(eff >> bit & 1), (name, caps)
    for check in ("ring buffer", "program type tracing", "program type tracepoint"):
        assert checks[check]["status"] == "ok", checks[check]
    assert checks["ring buffer"]["essential"] and checks["program type tracing"]["essential"]
    bpffs = subprocess.run(["findmnt", "-n", "-t", "bpf", "/sys/fs/bpf"],
                           capture_output=True).returncode == 0
    assert checks["bpffs"]["detail"].startswith("mounted") == bpffs, checks["bpffs"]
    # doctor mounts nothing: tracefs (only the accept() tracepoint fallback
    # needs it) is "ok" exactly when someone has mounted it
    with open("/proc/self/mounts") as f:
        tracefs = any(line.split()[2] == "tracefs" for line in f)
    assert (checks["tracefs"]["status"] == "ok") == tracefs, checks["tracefs"]
    cfg = checks["kernel config"]
    if os.path.exists("/proc/config.gz"):
        assert cfg["status"] == "ok" and "from /proc/config.gz" in cfg["detail"], cfg


def test_doctor_kernel_config_from_boot(bpf, tmp_path):
    """Without /proc/config.gz the installed /boot/config-RELEASE is read:
    both hidden and replaced in a mount namespace of the test's own."""
    release = os.uname().release
    (tmp_path / ("config-" + release)).write_text("# test\nCONFIG_HZ=300\n")
    script = ("mount --bind /dev/null /proc/config.gz 2>/dev/null; "
              "mount --bind %s /boot && exec %s doctor -o json" % (tmp_path, BIN))
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    cfg = {c["check"]: c for c in json.loads(p.stdout)["checks"]}["kernel config"]
    assert cfg["status"] == "ok", cfg
    assert "CONFIG_HZ=300 from /boot/config-%s" % release in cfg["detail"], cfg
    # and neither: degraded, saying what is missing
    script = ("mount --bind /dev/null /proc/config.gz 2>/dev/null; mount -t tmpfs none /boot "
              "&& exec %s doctor -o json" % BIN)
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=60)
    cfg = {c["check"]: c for c in json.loads(p.stdout)["checks"]}["kernel config"]
    assert cfg["status"] == "degraded" and "/boot/config-" + release in cfg["detail"], cfg

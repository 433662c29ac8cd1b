"""`tcpdwell doctor`: its facts are the kernel's (the same BTF lookups the
tests and the BPF side's CO-RE probes make), on this host and in the 6.1
guest of make vmtest."""
import json
import subprocess

from conftest import BIN, kernel_has_field, retrans_err, rst_reasons


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
    assert (checks["netns timewait count"]["status"] == "ok") == \
        kernel_has_field("inet_timewait_death_row", "tw_refcount")
    assert not [c for c in d["checks"] if c["essential"] and c["status"] != "ok"]


def test_doctor_text_and_an_unprivileged_user(bpf):
    p = doctor()
    assert p.returncode == 0 and p.stdout.splitlines()[-1] == "tcpdwell can run here"
    # nobody: the main job cannot run, and the doctor says why (exit 2)
    p = doctor(user=65534)
    assert p.returncode == 2, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert any(l.startswith("missing") and "privileges" in l and "CAP_BPF" in l for l in lines)
    assert lines[-1] == "tcpdwell cannot run here: see the missing checks above"

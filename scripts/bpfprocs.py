"""BPF programs a process holds, and whether the kernel still has them.
Shared by scripts/bench.py and the integration tests."""
import os
import subprocess
import time


def prog_ids(pid):
    """Ids of the BPF programs process pid holds (from its fd table)."""
    ids = set()
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def still_loaded(ids, timeout=3.0):
    """Those of ids the kernel still has, after waiting up to timeout for
    them to go (a program is freed after an RCU grace period)."""
    deadline = time.time() + timeout
    while True:
        left = {i for i in ids
                if subprocess.run(["bpftool", "prog", "show", "id", str(i)],
                                  capture_output=True).returncode == 0}
        if not left or time.time() >= deadline:
            return left
        time.sleep(0.1)

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


def _still_listed(kind, ids, timeout):
    """Those of ids `bpftool KIND show` still lists, after waiting up to
    timeout for them to go."""
    deadline = time.time() + timeout
    while True:
        left = {i for i in ids
                if subprocess.run(["bpftool", kind, "show", "id", str(i)],
                                  capture_output=True).returncode == 0}
        if not left or time.time() >= deadline:
            return left
        time.sleep(0.1)  # a poll interval: bpftool is slow to ask


def still_loaded(ids, timeout=3.0):
    """Those of program ids the kernel still has, after waiting up to
    timeout for them to go (a program is freed after an RCU grace period)."""
    return _still_listed("prog", ids, timeout)


def _fdinfo_values(pid, key):
    """The values of `key:` lines across the fdinfo of process pid."""
    vals = []
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                vals += [int(line.split()[1]) for line in f if line.startswith(key + ":")]
        except (OSError, ValueError, IndexError):
            pass
    return vals


def link_ids(pid):
    """Ids of the BPF links process pid holds (its fds own them)."""
    return set(_fdinfo_values(pid, "link_id"))


def map_memlock(pid):
    """Bytes the BPF maps process pid holds are charged for: fixed at
    creation (the ring buffer included), whatever the reader does."""
    return sum(_fdinfo_values(pid, "memlock"))


def links_left(ids, timeout=3.0):
    """Those of link ids `bpftool link show` still lists, after waiting up
    to timeout for them to go."""
    return _still_listed("link", ids, timeout)

"""Command-line errors and process behaviour: one clear line and exit 2 for
bad input, clean exits on signals and closed pipes, nothing left attached."""
import os
import re
import signal
import sys
import subprocess
import tempfile

import pytest

from conftest import BIN, READY_S, REPO, wait_until, written

sys.path.insert(0, os.path.join(REPO, "scripts"))
from bpfprocs import prog_ids, still_loaded  # noqa: E402


def run(*args, **kw):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30, **kw)


@pytest.mark.parametrize("args", [
    ["--bogus"],
    ["frobnicate"],
    ["trace", "--lport", "0"],
    ["trace", "--lport", "70000"],
    ["trace", "--rport", "80,,81"],
    ["trace", "--rport", "http"],
    ["trace", "--lport"],
    ["trace", "-o", "xml"],
    ["trace", "-4", "-6"],
    ["trace", "-d", "-1"],
    ["trace", "--ringbuf-kb", "1000"],
    ["trace", "extra"],
])
def test_bad_input_is_one_line_and_exit_2(args):
    if not os.access(BIN, os.X_OK):
        pytest.fail("tcpdwell not built")
    p = run(*args)
    assert p.returncode == 2, (args, p.returncode, p.stderr)
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tcpdwell: "), p.stderr


def test_help_and_version():
    p = run("--help")
    assert p.returncode == 0 and "--lport" in p.stdout and "--rport" in p.stdout
    p = run("--version")
    version = re.search(r'TD_VERSION "([^"]+)"',
                        open(os.path.join(REPO, "user", "version.h")).read()).group(1)
    m = re.fullmatch(r"tcpdwell (\S+) \(git (\S+), libbpf v(\d+)\.(\d+)\)\n", p.stdout)
    assert p.returncode == 0 and m and m.group(1) == version, p.stdout
    # the revision this checkout is at (make test rebuilds when it moves)
    git = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty", "--abbrev=12",
                          "--exclude=*"], capture_output=True, text=True)
    if git.returncode == 0:  # a checkout (a guest sees a copy of the binary only)
        assert m.group(2) == git.stdout.strip(), (p.stdout, git.stdout)


def test_unprivileged_is_refused(bpf):
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "--inh-caps=-all", BIN, "trace"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, p
    assert p.stderr.count("\n") == 1 and "CAP_BPF" in p.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signals_exit_cleanly_and_detach(netns, tracer, sig):
    t = tracer("trace")
    ids = prog_ids(t.proc.pid)
    assert len(ids) >= 8, "programs should be loaded while tracing: %s" % ids
    netns.scenario("refused")
    t.stop(sig)
    assert t.clean(), t.stderr
    assert t.loss()["exact"]
    assert not still_loaded(ids), "programs left loaded after exit"


def test_pipe_to_head(netns, bpf):
    """`tcpdwell trace | head -n 3` ends cleanly when head exits."""
    # only this test's namespace: other traffic on the host would fill head
    # before the tracer is found
    err = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen("%s trace --flush-ms 20 --netns /run/netns/%s | head -n 3" %
                         (BIN, netns.name), shell=True,
                         stdout=subprocess.PIPE, stderr=err, text=True)

    # attached: the tracer says so once its programs are loaded and attached
    wait_until(lambda: "tcpdwell: tracing" in written(err), READY_S, "pipeline tracer start",
               alive=lambda: p.poll() is None)

    def tracer_progs():
        # by its arguments: under valgrind the process is memcheck's
        out = subprocess.run(["pgrep", "-n", "-f", "-P", str(p.pid), " trace --flush-ms 20 "],
                             capture_output=True, text=True).stdout
        return prog_ids(int(out)) if out.strip() else set()

    ids = wait_until(tracer_progs, READY_S, "the programs of the pipeline's tracer",
                     alive=lambda: p.poll() is None)
    for _ in range(3):
        netns.scenario("refused")
    out, _ = p.communicate(timeout=30)
    assert p.returncode == 0
    assert len(out.splitlines()) == 3 and out.startswith("TIME(s)")
    e = written(err)
    err.close()
    assert "Segmentation" not in e and "Broken pipe" not in e, e
    assert not still_loaded(ids), "programs left loaded after exit"


def test_comm_control_characters_escaped(netns, tracer):
    t = tracer("trace", fmt="text")
    netns.scenario("refused", env={"TD_COMM": "ev\x1b[31mil"})
    t.stop()
    assert "\x1b" not in t.stdout
    assert "ev\\x1b[31mil" in t.stdout, t.stdout


def test_sigusr1_prints_loss_counters(netns, tracer):
    t = tracer("trace", fmt="text")
    port = netns.scenario("refused")["server"]["port"]
    # the scenario's events read and printed: delivered ones to count
    t.wait_output(":%d " % port, READY_S)
    t.proc.send_signal(signal.SIGUSR1)
    wait_until(lambda: "events delivered" in written(t.err), READY_S,
               "the SIGUSR1 loss counters", alive=lambda: t.proc.poll() is None)
    t.stop()
    lines = [l for l in t.stderr.splitlines() if "events delivered" in l]
    assert len(lines) == 2, t.stderr
    assert "approximate" in lines[0] and "approximate" not in lines[1]


def test_documented_flags_are_in_help():
    """Every flag the reference's Flags table shows exists in --help."""
    import re
    doc = open(os.path.join(REPO, "docs", "flags.md")).read()
    table = ("\n" + doc).split("\n# Flags", 1)[1].split("\n## ", 1)[0]
    flags = set()
    for row in table.splitlines():
        if row.startswith("| `"):
            flags.update(re.findall(r"`(--?[A-Za-z0-9][-A-Za-z0-9]*)", row.split("|")[1]))
    help_text = run("--help").stdout
    assert {"--rotate", "--force", "--write", "-w"} <= flags
    missing = sorted(f for f in flags if f not in help_text)
    assert not missing, missing


def help_flags():
    """The flags --help lists: the option column of its indented lines."""
    import re
    flags = set()
    for line in run("--help").stdout.splitlines():
        if re.match(r"^\s+-", line):
            head = re.split(r"\s{2,}", line.strip())[0]
            flags.update(re.findall(r"(?<![\w-])(--?[A-Za-z0-9][-A-Za-z0-9]*)", head))
    return flags


def test_man_page_matches_help():
    """tcpdwell(8), generated from README.md and docs/flags.md, renders
    without a warning and names every flag of --help; every option it
    lists is one --help knows."""
    import re
    page = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "mkman.py"), REPO],
                          capture_output=True, text=True, check=True).stdout
    out = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=page,
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    flags = help_flags()
    assert {"--lport", "--write", "-w", "--version"} <= flags
    missing = sorted(f for f in flags if "\\fB" + f.replace("-", "\\-") not in page)
    assert not missing, missing
    options = page.split(".SH OPTIONS", 1)[1].split(".SH ", 1)[0].split("\n")
    heads = [options[i + 1] for i, l in enumerate(options) if l == ".TP"]
    listed = {f.replace("\\-", "-") for h in heads
              for f in re.findall(r"\\fB((?:\\-)+[A-Za-z0-9](?:[A-Za-z0-9]|\\-)*)", h)}
    assert len(listed) > 40
    assert not sorted(listed - flags), sorted(listed - flags)
    commands = page.split(".SH COMMANDS", 1)[1].split(".SH ", 1)[0]
    for cmd in ("trace", "timeline", "dwell", "retrans", "timewait", "doctor", "run",
                "export", "record", "replay"):
        assert "tcpdwell " + cmd in commands, cmd
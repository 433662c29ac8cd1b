#!/usr/bin/env python3
"""Write the manual page tcpdwell(8) to stdout, generated from the pages a
reader already has: the command table of README.md, and the flag and
exit-code tables of docs/flags.md. Generated rather than kept by hand so
the page cannot drift from them (tests/integration/test_cli.py checks it
against --help). Usage: scripts/mkman.py [REPO_DIR] > tcpdwell.8"""

import os
import re
import sys

REPO = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")


def read(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
        return f.read()


def section(text, heading):
    """The body of the markdown section `heading` (any level), up to the
    next heading of the same or a higher level."""
    m = re.search(r"^(#+) %s\n" % re.escape(heading), text, re.M)
    if not m:
        sys.exit("mkman: no section %r" % heading)
    rest = text[m.end():]
    end = re.search(r"^#{1,%d} " % len(m.group(1)), rest, re.M)
    return rest[:end.start()] if end else rest


def table(body):
    """Rows of the first markdown table in body, as lists of cells."""
    rows = []
    for line in body.splitlines():
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip().replace("\\|", "|")
                 for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if all(re.fullmatch(r"-+", c) for c in cells):
            continue
        rows.append(cells)
    return rows[1:]  # without the header row


# what the markdown writes in UTF-8, as roff's own glyphs (troff -ww warns
# on raw UTF-8 input); anything else as a Unicode escape
GLYPHS = {"\u2014": "\\(em", "\u2013": "\\(en", "\u2264": "\\(<=", "\u2265": "\\(>=",
          "\u00d7": "\\(mu", "\u2192": "\\(->", "\u00b5": "\\(mc", "\u2248": "\\(~~"}


def roff(md):
    """Inline markdown to roff: code in bold, links as their text, escapes."""
    md = re.sub(r"\[((?:[^][]|\[[^]]*\])*)\]\([^)]*\)", r"\1", md)
    out = []
    for k, part in enumerate(re.split(r"`([^`]*)`", md)):
        part = part.replace("\\", "\\e")
        if k % 2:  # code: options and literals, with real minus signs
            out.append("\\fB" + part.replace("-", "\\-") + "\\fR")
        else:
            out.append(part)
    return "".join(GLYPHS.get(c, "\\[u%04X]" % ord(c)) if ord(c) > 127 else c
                   for c in "".join(out))


def para(text):
    """A roff text line: one that starts with a dot or quote is escaped."""
    return "\\&" + text if text[:1] in (".", "'") else text


def main():
    readme = read("README.md")
    flags = read("docs/flags.md")
    version = re.search(r'TD_VERSION "([^"]+)"', read("user/version.h")).group(1)
    o = [
        '.TH TCPDWELL 8 "" "tcpdwell %s" "System Administration"' % version,
        ".nh",  # option names and paths read better unbroken
        ".ad l",
        ".SH NAME",
        "tcpdwell \\- trace TCP connection states, their dwell times, TIME_WAIT and retransmits",
        ".SH SYNOPSIS",
        ".B tcpdwell",
        "[\\fICOMMAND\\fR] [\\fIOPTIONS\\fR]",
        ".br",
        ".B tcpdwell run",
        "[\\fIOPTIONS\\fR] [\\fB\\-\\-\\fR] \\fICMD\\fR [\\fIARGS\\fR...]",
        ".br",
        ".B tcpdwell record \\-w",
        "\\fIFILE\\fR [\\fIOPTIONS\\fR]",
        ".br",
        ".B tcpdwell replay",
        "\\fIFILE\\fR [\\fICOMMAND\\fR] [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
    ]
    pitch = readme.split("\n## ", 1)[0].split("\n", 1)[1].strip()
    for p in pitch.split("\n\n"):
        o.append(para(roff(" ".join(p.split()))))
        o.append(".PP")
    o.pop()
    o.append(".SH COMMANDS")
    for cmd, what in table(section(readme, "Commands")):
        o += [".TP", para(roff(cmd)), para(roff(what))]
    o.append(".SH OPTIONS")
    for flag, what in table(section(flags, "Flags")):
        o += [".TP", para(roff(flag)), para(roff(what))]
    o.append(".SH EXIT STATUS")
    for code, what in table(section(flags, "Loss accounting and exit codes")):
        o += [".TP", ".B " + code, para(roff(what))]
    o += [
        ".SH FILES",
        ".TP",
        ".I /sys/kernel/btf/vmlinux",
        "the kernel's BTF, which tcpdwell needs (see \\fBtcpdwell doctor\\fR)",
        ".TP",
        ".I /proc/net/sockstat",
        "the TIME_WAIT count the census matches",
        ".SH SEE ALSO",
        ".BR ss (8),",
        ".BR nstat (8),",
        ".BR bpftool (8)",
        ".PP",
        "The full reference, one page per command, is in the docs/ directory of the",
        "source tree (docs/trace.md and the others); docs/design.md holds the kernel",
        "facts the programs rely on.",
    ]
    sys.stdout.write("\n".join(o) + "\n")


if __name__ == "__main__":
    main()

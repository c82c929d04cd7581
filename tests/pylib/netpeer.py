# SPDX-License-Identifier: GPL-2.0-only
"""The test guest's guest.net_peer=1 report (tests/guest/virtio_net_peer.c):
two guests on one switch exchange sequence-numbered frames and count what
the other's lost, duplicated or reordered."""

import re

PROGRESS_RE = re.compile(r"guest: net \S+ peer progress sent=(\d+) "
                         r"received=(\d+) lost=(\d+) dup=(\d+) ooo=(\d+)")
GAP_RE = re.compile(r"guest: net \S+ peer gap first=(\d+) lost=(\d+)")
REPORT_RE = re.compile(r"guest: net \S+ peer mac=(\S+) (.*)$")


def progress(line):
    """{sent, received, lost, dup, ooo} of a progress line, or None."""
    m = PROGRESS_RE.search(line)
    if not m:
        return None
    return dict(zip(("sent", "received", "lost", "dup", "ooo"),
                    (int(x) for x in m.groups())))


def gap(line):
    """(first, lost) of a gap line, or None."""
    m = GAP_RE.search(line)
    return (int(m.group(1)), int(m.group(2))) if m else None


def report(lines):
    """The final report line's fields (numbers as int, mac= and end= as
    str), or None; also while the line is still being written (a test
    reading the guest's output file as it grows), until its last field,
    end=ok or end=incomplete, is complete."""
    for line in lines:
        m = REPORT_RE.search(line)
        if m:
            r = {"mac": m.group(1)}
            for kv in m.group(2).split():
                k, _, v = kv.partition("=")
                r[k] = int(v) if v.isdigit() else v
            return r if r.get("end") in ("ok", "incomplete") else None
    return None

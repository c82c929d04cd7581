#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""--copy-min: with --copy direct (the default), frames shorter than the
minimum (default 0: none) go through an mbuf, longer ones are copied
straight from one frontend's buffers into the other's. Two Python
virtio-net frontends on a cross-connected pair, split rings: every frame
arrives as sent, and the per-queue 'direct' counter says which path each
size took, for the default, --copy-min 256 and --copy-min 1000."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import svmtest  # noqa: E402
from vu_net import frame  # noqa: E402

exe = sys.argv[1]
MA, MB = "02:00:00:00:00:a1", "02:00:00:00:00:b2"
SHORT = [frame(MB, MA, payload=bytes([i]) * (40 + i)) for i in range(8)]
LONG = [frame(MB, MA, payload=bytes([i]) * (900 + i)) for i in range(8)]


def direct(st, port):
    return sum(q["direct"] for q in st["ports"][port]["queues"])


def run(c, tmp, extra, what, want_direct):
    socks = [os.path.join(tmp, f"{what}{i}.sock") for i in range(2)]
    sw = netbe.SplitvmNet(exe, ["--mode", "xconnect"] + extra +
                          [a for s in socks for a in ("--port", s)])
    try:
        (a, b), up = netbe.fronts(sw, socks)
        try:
            c.check(up, f"{what}: both frontends connected")
            # One frame through first: both rings are in use before the
            # counted frames (a ring still being set up would send them
            # the mbuf way).
            a.send(frame(MB, MA, payload=b"w" * 60))
            b.recv(1, timeout=15)
            for name, frames in (("short", SHORT), ("long", LONG)):
                before = direct(sw.stats(), 0)
                for fr in frames:
                    a.send(fr)
                got = [fr for _, fr in b.recv(len(frames), timeout=15)]
                c.check(got == frames, f"{what}: {name} frames through, "
                        "each as sent", f"{len(got)} of {len(frames)}")
                c.equal(direct(sw.stats(), 0) - before,
                        len(frames) if want_direct[name] else 0,
                        f"{what}: {name} frames "
                        f"{'copied directly' if want_direct[name] else 'through an mbuf'}")
        finally:
            a.close()
            b.close()
    finally:
        status, _ = sw.stop()
    c.equal(status, 0, f"{what}: exit 0 on SIGTERM")


c = svmtest.Checker("net_copy_min")
with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    run(c, tmp, [], "default", {"short": True, "long": True})
    run(c, tmp, ["--copy-min", "256"], "min256",
        {"short": False, "long": True})
    run(c, tmp, ["--copy-min", "1000"], "min1000",
        {"short": False, "long": False})
    run(c, tmp, ["--copy", "mbuf", "--copy-min", "0"], "mbuf",
        {"short": False, "long": False})
c.finish()

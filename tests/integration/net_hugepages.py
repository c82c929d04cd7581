#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-net --hugepages, run as uid 65534 with no capability: with
enough free 2 MiB pages and a hugetlbfs mounted, 'on' and 'auto' take the
whole --memory from huge pages (the pool's free count drops by it while
the process runs and comes back after it; its mappings show 2048 kB
pages) and frames still go through, under the seccomp filter; with none
free, 'on' fails with exit status 1 and one line that says how much is
needed, and 'auto' falls back to anonymous memory and says so. Root only
(it sets /proc/sys/vm/nr_hugepages for the duration and puts the old
value back, and mounts a hugetlbfs in a temporary directory when none is
mounted), else SKIP."""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import hugepool  # noqa: E402
import netbe  # noqa: E402
import svmtest  # noqa: E402
from vu_net import frame  # noqa: E402

exe = sys.argv[1]
MEMORY_MB = 128
PAGES = MEMORY_MB // 2
MA, MB = "02:00:00:00:00:a1", "02:00:00:00:00:b2"

if not hugepool.usable():
    svmtest.skip("needs root and 2 MiB huge pages to set the pool size")
set_pool = hugepool.set_size

def mounted_2m():
    """Whether a hugetlbfs of 2 MiB pages is mounted (without pagesize=
    one serves the default size, 2 MiB on x86)."""
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, fstype, opts = line.split()[:4]
            if fstype == "hugetlbfs" and ("pagesize=2M" in opts or
                                          "pagesize=" not in opts):
                return True
    return False


def huge_kb(pid):
    """kB of pid's mappings made of 2048 kB pages."""
    total, size = 0, 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if line.startswith("Size:"):
                size = int(line.split()[1])
            elif line.startswith("KernelPageSize:") and \
                    int(line.split()[1]) == 2048:
                total += size
    return total


def forward(c, sw, socks, what):
    """16 frames port 0 -> port 1 (cross-connect), each as sent."""
    (a, b), up = netbe.fronts(sw, socks)
    try:
        c.check(up, f"{what}: both frontends connected")
        sent = [frame(MB, MA, payload=bytes([i]) * (60 + i)) for i in range(16)]
        for fr in sent:
            a.send(fr)
        got = [fr for _, fr in b.recv(len(sent), timeout=15)]
        c.check(got == sent, f"{what}: 16 frames through, each as sent",
                f"{len(got)} received, "
                f"{sum(g == w for g, w in zip(got, sent))} as sent")
    finally:
        a.close()
        b.close()


def run(c, tmp, mode, tag):
    socks = [os.path.join(tmp, f"{tag}{i}.sock") for i in range(2)]
    return netbe.SplitvmNet(exe, ["--mode", "xconnect", "--hugepages", mode,
                                  "--memory", str(MEMORY_MB)] +
                            [a for s in socks for a in ("--port", s)]), socks


c = svmtest.Checker("net_hugepages")
old = hugepool.size()
mnt = None
with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    try:
        if not mounted_2m():
            mnt = os.path.join(tmp, "huge")
            os.mkdir(mnt)
            subprocess.run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M",
                            "nodev", mnt], check=True)
        set_pool(old + PAGES + 8)
        if hugepool.free() < PAGES + 8:
            svmtest.skip(f"the kernel could only free {hugepool.free()} of "
                         f"{PAGES + 8} huge pages")

        for mode in ("on", "auto"):
            before = hugepool.free()
            sw, socks = run(c, tmp, mode, mode)
            try:
                c.check(sw.wait_log("huge pages (", 20),
                        f"--hugepages {mode}: says it took huge pages",
                        "".join(sw.stderr))
                netbe.wait_paths(socks)
                c.check(before - hugepool.free() >= PAGES,
                        f"--hugepages {mode}: the pool gave {PAGES} pages "
                        f"({MEMORY_MB} MB) or more",
                        f"free {before} before, {hugepool.free()} now")
                c.check(huge_kb(sw.proc.pid) >= MEMORY_MB * 1024,
                        f"--hugepages {mode}: {MEMORY_MB} MB mapped in "
                        "2048 kB pages", f"{huge_kb(sw.proc.pid)} kB")
                forward(c, sw, socks, f"--hugepages {mode}")
            finally:
                status, _ = sw.stop()
            c.equal(status, 0, f"--hugepages {mode}: exit 0 on SIGTERM")
            c.equal(hugepool.free(), before,
                    f"--hugepages {mode}: every page back in the pool")

        # Nothing free: take the pool back to where it was, and use up
        # what it had (if anything) so that nothing is free.
        set_pool(old)
        if hugepool.free() == 0:
            sw, socks = run(c, tmp, "on", "none")
            status = sw.wait(20)
            if status is None:
                status, _ = sw.stop()
            err = [ln for ln in "".join(sw.stderr).splitlines() if ln.strip()]
            c.equal(status, 1, "--hugepages on, none free: exit status 1")
            c.check(len(err) == 1 and f"{MEMORY_MB} MB needed" in err[0],
                    "--hugepages on, none free: one line saying what is "
                    "needed", "\n".join(err))

            sw, socks = run(c, tmp, "auto", "fallback")
            try:
                c.check(sw.wait_log("MB of anonymous memory", 20),
                        "--hugepages auto, none free: says it uses "
                        "anonymous memory", "".join(sw.stderr))
                c.equal(huge_kb(sw.proc.pid), 0,
                        "--hugepages auto, none free: no huge page mapped")
                forward(c, sw, socks, "--hugepages auto, none free")
            finally:
                status, _ = sw.stop()
            c.equal(status, 0, "--hugepages auto, none free: exit 0")
        else:
            print(f"  info {hugepool.free()} huge pages stay free at the old pool "
                  f"size ({old}): the none-free cases are not run")
    finally:
        set_pool(old)
        if mnt:
            subprocess.run(["umount", mnt])
c.finish()

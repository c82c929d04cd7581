#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""--hugepages: a clear one-line error when too few 2 MiB pages are free,
and guest RAM really backed by huge pages when they are.  Changes
/proc/sys/vm/nr_hugepages for the duration of the test (root only) and
puts the old value back."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import hugepool  # noqa: E402
import svmtest  # noqa: E402

splitvm, guest = sys.argv[1:3]
svmtest.require_kvm()
if not hugepool.usable():
    svmtest.skip("needs root and 2 MiB huge pages to set the pool size")
set_pool = hugepool.set_size

c = svmtest.Checker("hugepages")
old = hugepool.size()
try:
    set_pool(0)
    r = svmtest.run([splitvm, "--kernel", guest, "--memory", "64M", "--hugepages"])
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    c.equal(r.status, 1, "no free huge pages: exit status 1")
    c.equal(len(lines), 1, "no free huge pages: one line")
    c.check(lines and "not enough free 2 MiB huge pages" in lines[0] and "32 needed" in lines[0],
            "no free huge pages: says how many are needed", r.stderr.strip())

    set_pool(64)
    if hugepool.free() < 64:
        svmtest.skip(f"the kernel could only allocate {hugepool.free()} of 64 huge pages")
    before = hugepool.free()

    # Sample the pool while the guest is parked, then stop it.
    proc = subprocess.Popen([splitvm, "--kernel", guest, "--memory", "128M", "--hugepages",
                             "--cmdline", "guest.ticks=1 guest.exit=hang"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b""
    deadline = time.monotonic() + 60
    while b"guest: hanging" not in out and time.monotonic() < deadline:
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        out += chunk
    in_use = before - hugepool.free()
    proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=60)
    out += rest
    c.check(b"result=PASS" in out, "guest runs on huge-page RAM", out.decode()[-300:])
    c.equal(in_use, 64, "all 64 huge pages of 128 MiB are in use by the VM")
    c.equal(proc.returncode, 128 + signal.SIGTERM, "stopped by SIGTERM")
    c.equal(hugepool.free(), before, "huge pages are returned when splitvm exits")
finally:
    set_pool(old)
c.finish()

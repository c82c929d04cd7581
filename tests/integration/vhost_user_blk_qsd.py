#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""--disk against a real vhost-user-blk back-end, qemu-storage-daemon
exporting a 64 MiB raw file: the test guest finds a modern virtio-blk
function on PCI, writes a seeded pattern to extents across the disk
through a split virtqueue, reads it back, flushes, and probes past the
end; then this test reads the raw file on the host and checks every
sector the guest wrote, and one it did not.  The core is not on the
data path: the guest's kicks reach the daemon through ioeventfd.
A second run takes completions as MSI-X interrupts (irqfd), resets the
device with writes in flight, sets it up again and writes a second
pattern (seed+1) elsewhere, also checked in the raw file; then a short
timed write/read loop.
Also: a --disk socket nobody listens on is one error line and status 1."""

import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import blkguest  # noqa: E402
import qsd  # noqa: E402
import svmtest  # noqa: E402

splitvm, guest = sys.argv[1:3]
VIRTIO_F_RING_PACKED = 34

c = svmtest.Checker("vhost_user_blk_qsd")
svmtest.require_kvm()
qsd.require()


with tempfile.TemporaryDirectory() as tmp:
    export = qsd.Export(tmp)
    img, sock = export.img, export.sock
    try:
        if not c.check(export.running(), "qemu-storage-daemon is running"):
            print(export.stop())
            c.finish()
        blkguest.guest_runs(c, splitvm, guest, sock, img, export.running,
                            "qemu-storage-daemon")

        # The daemon (libvhost-user) offers no RING_PACKED, so neither does
        # the core, and the guest's default (packed when offered) is split.
        r = svmtest.run([splitvm, "--kernel", guest, "--memory", "64M",
                         "--disk", f"socket={sock}",
                         "--cmdline", "guest.ticks=1 guest.exit=poweroff "
                                      "guest.blk=1"], timeout=120)
        feat = re.search(r"guest: blk \S+ features=0x([0-9a-f]+) .* ring=(\w+)",
                         r.stdout)
        ok = c.check(feat is not None and
                     not int(feat.group(1), 16) >> VIRTIO_F_RING_PACKED & 1 and
                     feat.group(2) == "split",
                     "no packed ring offered: the guest drives a split one",
                     feat.group(0) if feat else "no features line")
        if not ok:
            r.dump()

        # guest.ring=packed insists: the device fails before any I/O.
        r = svmtest.run([splitvm, "--kernel", guest, "--memory", "64M",
                         "--disk", f"socket={sock}",
                         "--cmdline", "guest.ticks=1 guest.exit=poweroff "
                                      "guest.blk=1 guest.ring=packed"],
                        timeout=120)
        ok = c.check(re.search(r'guest: blk \S+ FAIL reason="[^"]*'
                               r'RING_PACKED', r.stdout) is not None,
                     "guest.ring=packed: the guest refuses a split-only disk")
        ok &= c.check("guest: result=FAIL" in r.stdout,
                      "guest.ring=packed: the guest fails")
        if not ok:
            r.dump()

        # ring=packed on the command line: splitvm itself refuses the
        # split-only back-end, in one line, before the guest runs.
        r = svmtest.run([splitvm, "--kernel", guest, "--memory", "64M",
                         "--disk", f"socket={sock},ring=packed",
                         "--cmdline", "guest.ticks=1 guest.exit=poweroff"],
                        timeout=120)
        ok = c.equal(r.status, svmtest.EXIT_ERROR,
                     "--disk ring=packed on qemu-storage-daemon: exit 1")
        ok &= c.check("does not offer packed rings" in r.stderr and
                      "guest:" not in r.stdout,
                      "  ... naming the cause, before the guest runs",
                      r.stderr.strip())
        if not ok:
            r.dump()
    finally:
        qsd_log = export.stop()
    # The daemon logs nothing on a clean session; a refused or broken
    # one shows here.
    c.check("error" not in qsd_log.lower(),
            "qemu-storage-daemon reported no error", qsd_log.strip())

    # Nobody listening: one line naming the socket, status 1.
    missing = os.path.join(tmp, "nonexistent.sock")
    r = svmtest.run([splitvm, "--kernel", guest, "--memory", "64M",
                     "--disk", f"socket={missing}"], timeout=60)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    ok = c.equal(r.status, svmtest.EXIT_ERROR, "no back-end: exit status 1")
    ok &= c.equal(len(lines), 1, "no back-end: exactly one line on stderr")
    text = lines[0] if lines else ""
    ok &= c.check(text.startswith("splitvm: error:") and missing in text,
                  "no back-end: an error line naming the socket", text)
    if not ok:
        r.dump()

c.finish()

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
import secrets
import struct
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import qsd  # noqa: E402
import svmtest  # noqa: E402

VIRTIO_F_RING_PACKED = 34

splitvm, guest = sys.argv[1:3]
c = svmtest.Checker("vhost_user_blk_qsd")
svmtest.require_kvm()
qsd.require()



def pattern(seed, sector):
    """What the guest writes to a sector (tests/guest/virtio_blk.c)."""
    base = (seed * 0x9E3779B1 + sector * 0x85EBCA77) & 0xFFFFFFFF
    return struct.pack("<128I", *(((base + w) & 0xFFFFFFFF) for w in range(128)))


def check_extents(f, extents, seed):
    """Sectors of these extents that do not hold seed's pattern."""
    bad = []
    for start, count in extents:
        for s in range(start, start + count):
            f.seek(s * 512)
            if f.read(512) != pattern(seed, s):
                bad.append(s)
    return bad


def check_blk_io(out, img, seed, pass2_seed=None):
    summary = re.search(r"guest: blk \S+ capacity=(\d+) id=\"[^\"]*\" wrote=(\d+) "
                        r"read=(\d+) verified=(\d+) flush=(\w+) oob=(\w+)", out)
    if not c.check(summary is not None, "the guest ran its block test", out[-500:]):
        return False
    cap, wrote, read, verified, flush, oob = summary.groups()
    ok = c.equal(int(cap), (64 << 20) // 512, "capacity from the back-end's config")
    ok &= c.check(int(wrote) > 0 and wrote == read == verified,
                  "every sector written was read back and verified in the guest",
                  f"wrote={wrote} read={read} verified={verified}")
    ok &= c.equal(flush, "ok", "FLUSH completed")
    ok &= c.equal(oob, "ioerr", "a read past the end gets VIRTIO_BLK_S_IOERR")
    extents = [(int(a), int(b)) for a, b in
               re.findall(r"guest: blk \S+ extent sector=(\d+) count=(\d+)", out)]
    ok &= c.equal(sum(n for _, n in extents), int(wrote), "extents add up to what was written")
    pass2 = [(int(a), int(b)) for a, b in
             re.findall(r"guest: blk \S+ pass2 extent sector=(\d+) count=(\d+)", out)]
    written = {s for start, count in extents + pass2
               for s in range(start, start + count)}
    with open(img, "rb") as f:
        bad = check_extents(f, extents, seed)
        if pass2_seed is not None:
            restart = re.search(r"guest: blk \S+ restart=(\w+) pass2_verified=(\d+)", out)
            ok &= c.check(restart is not None and restart.group(1) == "ok",
                          "the guest reset the device mid-traffic and restarted it")
            ok &= c.check(len(pass2) > 0 and restart is not None and
                          int(restart.group(2)) == sum(n for _, n in pass2),
                          "pass 2 verified every sector of its extents in the guest",
                          f"extents={pass2} line={restart and restart.group(0)}")
            bad2 = check_extents(f, pass2, pass2_seed)
            ok &= c.equal(bad2, [], "the raw file holds pass 2's pattern (seed+1) in all "
                          f"{sum(n for _, n in pass2)} sectors: no write from before the reset landed later")
        untouched = next(s for s in range(1, int(cap)) if s not in written)
        f.seek(untouched * 512)
        zero = f.read(512) == bytes(512)
    ok &= c.equal(bad, [], "the raw file holds the guest's pattern in all "
                  f"{sum(n for _, n in extents)} sectors")
    ok &= c.check(zero, f"sector {untouched}, never written, is still zero")
    return ok


with tempfile.TemporaryDirectory() as tmp:
    export = qsd.Export(tmp)
    img, sock = export.img, export.sock
    try:
        if not c.check(export.running(), "qemu-storage-daemon is running"):
            print(export.stop())
            c.finish()

        seed = secrets.randbits(32)
        r = svmtest.run([splitvm, "--kernel", guest, "--memory", "64M",
                         "--disk", f"socket={sock}",
                         "--cmdline", f"guest.ticks=1 guest.exit=poweroff "
                                      f"guest.blk=1 guest.blk_seed={seed}"],
                        timeout=120)
        rep = svmtest.guest_report(r.stdout)
        blk = [(bdf, fn) for bdf, fn in rep["pci_functions"].items()
               if fn.get("vendor") == "0x1af4" and fn.get("device") == "0x1042"]
        ok = c.equal(r.status, svmtest.EXIT_POWEROFF, "splitvm exits 0")
        ok &= c.equal(len(blk), 1, "the guest sees one virtio-blk function")
        if blk:
            ok &= c.equal(blk[0][1].get("class"), "0x018000",
                          f"{blk[0][0]}: class mass storage / other")
        # Logged only after features, protocol features, owner and
        # GET_CONFIG were answered: the daemon served the connection.
        ok &= c.check(f"[blk0] virtio-blk on vhost-user back-end {sock}"
                      in r.stderr, "the daemon answered the negotiation")
        ok &= c.check(export.running(),
                      "qemu-storage-daemon survives splitvm's exit")
        ok &= check_blk_io(r.stdout, img, seed)
        # The daemon (libvhost-user) offers no RING_PACKED, so neither does
        # the core, and the guest's default (packed when offered) is split.
        feat = re.search(r"guest: blk \S+ features=0x([0-9a-f]+) .* ring=(\w+)",
                         r.stdout)
        ok &= c.check(feat is not None and
                      not int(feat.group(1), 16) >> VIRTIO_F_RING_PACKED & 1 and
                      feat.group(2) == "split",
                      "no packed ring offered: the guest drives a split one",
                      feat.group(0) if feat else "no features line")
        if not ok:
            r.dump()

        # MSI-X completions, reset with writes in flight, pass 2, loop.
        seed = secrets.randbits(32)
        r = svmtest.run([splitvm, "--kernel", guest, "--memory", "64M",
                         "--disk", f"socket={sock}",
                         "--cmdline", f"guest.ticks=1 guest.exit=poweroff "
                                      f"guest.blk=1 guest.blk_seed={seed} "
                                      "guest.blk_irq=1 guest.blk_reset=1 "
                                      "guest.blk_loop_ms=200"],
                        timeout=120)
        ok = c.equal(r.status, svmtest.EXIT_POWEROFF, "irq/reset run: splitvm exits 0")
        ok &= c.check("guest: result=PASS" in r.stdout, "irq/reset run: the guest passes")
        irqs = re.search(r"guest: blk \S+ capacity=.* irqs=(\d+)", r.stdout)
        ok &= c.check(irqs is not None and int(irqs.group(1)) > 0,
                      "completions arrived as MSI-X interrupts",
                      irqs.group(0) if irqs else "no summary line")
        loop = re.search(r"guest: blk \S+ loop rounds=(\d+) ok", r.stdout)
        ok &= c.check("guest: blk loop started" in r.stdout and loop is not None
                      and int(loop.group(1)) > 0,
                      "the timed loop ran rounds and ended by time",
                      loop.group(0) if loop else "")
        ok &= check_blk_io(r.stdout, img, seed, pass2_seed=(seed + 1) & 0xFFFFFFFF)
        ok &= c.check(export.running(),
                      "qemu-storage-daemon survives the reset and splitvm's exit")
        if not ok:
            r.dump()

        # INTx: MSI-X left disabled, completions through the IOAPIC pin
        # the function's Interrupt Line names (level, ISR read deasserts).
        # Zeroed first: the runs above wrote where this one checks for
        # zeroes (a raw file in qsd's page cache, so no restart needed).
        with open(img, "r+b") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(0)
            for _ in range(0, size, 1 << 20):
                f.write(bytes(1 << 20))
        seed = secrets.randbits(32)
        r = svmtest.run([splitvm, "--kernel", guest, "--memory", "64M",
                         "--disk", f"socket={sock}",
                         "--cmdline", f"guest.ticks=1 guest.exit=poweroff "
                                      f"guest.blk=1 guest.blk_seed={seed} "
                                      "guest.blk_irq=intx"],
                        timeout=120)
        ok = c.equal(r.status, svmtest.EXIT_POWEROFF, "INTx run: splitvm exits 0")
        ok &= c.check("guest: result=PASS" in r.stdout, "INTx run: the guest passes")
        line = re.search(r"guest: blk \S+ intx pin=1 line=(\d+) ", r.stdout)
        ok &= c.check(line is not None and 16 <= int(line.group(1)) < 24,
                      "INTx run: INTA on an IOAPIC pin among 16-23",
                      line.group(0) if line else "no intx line")
        irqs = re.search(r"guest: blk \S+ capacity=.* irqs=(\d+)", r.stdout)
        ok &= c.check(irqs is not None and int(irqs.group(1)) > 0,
                      "completions arrived as INTx interrupts",
                      irqs.group(0) if irqs else "no summary line")
        ok &= check_blk_io(r.stdout, img, seed)
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

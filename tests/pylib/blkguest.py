# SPDX-License-Identifier: GPL-2.0-only
"""The test guest's block test (guest.blk=1, tests/guest/virtio_blk.c)
against any vhost-user-blk back-end, checked from the host: what the
guest reported, and the raw image file sector by sector.  Shared by the
tests that run it against qemu-storage-daemon and against splitvm-blk."""

import os
import re
import secrets
import struct

import svmtest


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


def check_blk_io(c, out, img, seed, pass2_seed=None, serial=None):
    """Check one guest run's block report and the image it wrote."""
    summary = re.search(r"guest: blk \S+ capacity=(\d+) id=\"([^\"]*)\" wrote=(\d+) "
                        r"read=(\d+) verified=(\d+) flush=(\w+) oob=(\w+)", out)
    if not c.check(summary is not None, "the guest ran its block test", out[-500:]):
        return False
    cap, ident, wrote, read, verified, flush, oob = summary.groups()
    ok = c.equal(int(cap), os.path.getsize(img) // 512,
                 "capacity from the back-end's config")
    if serial is not None:
        ok &= c.equal(ident, serial, "GET_ID returns the serial")
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


def zero_image(img):
    """Zero the image in place (the back-end keeps it open)."""
    with open(img, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(0)
        for _ in range(0, size, 1 << 20):
            f.write(bytes(1 << 20))


def guest_runs(c, splitvm, guest, sock, img, alive, name, serial=None):
    """The three guest block runs: polled; MSI-X with a reset mid-traffic,
    pass 2 and a timed loop; INTx.  alive() says whether the back-end
    still runs."""
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
    # GET_CONFIG were answered: the back-end served the connection.
    ok &= c.check(f"[blk0] virtio-blk on vhost-user back-end {sock}"
                  in r.stderr, f"{name} answered the negotiation")
    ok &= c.check(alive(), f"{name} survives splitvm's exit")
    ok &= check_blk_io(c, r.stdout, img, seed, serial=serial)
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
    ok &= check_blk_io(c, r.stdout, img, seed, pass2_seed=(seed + 1) & 0xFFFFFFFF)
    ok &= c.check(alive(), f"{name} survives the reset and splitvm's exit")
    if not ok:
        r.dump()

    # INTx: MSI-X left disabled, completions through the IOAPIC pin
    # the function's Interrupt Line names (level, ISR read deasserts).
    # Zeroed first: the runs above wrote where this one checks for
    # zeroes (a raw file in the back-end's page cache, so no restart).
    zero_image(img)
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
    ok &= check_blk_io(c, r.stdout, img, seed)
    if not ok:
        r.dump()

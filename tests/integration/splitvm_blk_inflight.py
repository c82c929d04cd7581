#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-blk's crash safety (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD),
driven by the Python front-end in tests/pylib/vu_front.py, the back-end
running as uid 65534 with the image passed by fd.

1. Resubmission: a back-end is SIGKILLed; the front-end then leaves the
   state a back-end dying mid-request leaves: three write requests in
   the avail ring marked in flight in the inflight region (taken, never
   completed) and a fourth only in the avail ring.  A new back-end,
   given the same region and the used index as vring base, must complete
   each of the four exactly once (resubmitting the three from the
   region, oldest first, and taking only the fourth from the ring), with
   their data in the image and the region clean afterwards.
2. Kill loop: writes (each to its own sector with its own pattern) and
   flushes streamed with up to 12 in flight; the back-end is SIGKILLed
   at a random moment, restarted and reconnected, CYCLES times.  Every
   request submitted completes exactly once across all the back-ends
   (a used element for a head not outstanding is a duplicate), and the
   image holds every completed write.

Usage: splitvm_blk_inflight.py SPLITVM-BLK [CYCLES]"""

import os
import random
import re
import signal
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import splitvm_blk  # noqa: E402
import svmtest  # noqa: E402
import vu_front  # noqa: E402

blk_exe = sys.argv[1]
cycles = int(sys.argv[2]) if len(sys.argv) > 2 else 5
c = svmtest.Checker("splitvm_blk_inflight")
splitvm_blk.require(blk_exe)

SIZE = 16 << 20
T_OUT, T_FLUSH = 1, 4
QSIZE = 64


def pattern(sector, gen):
    return struct.pack("<QQ", sector, gen) * 32


def kill(be):
    """SIGKILL; returns what the back-end logged."""
    be.proc.send_signal(signal.SIGKILL)
    be.proc.wait()
    return be.stop()[1]


def resubmission(tmp, img):
    be = splitvm_blk.Backend(blk_exe, tmp, img, name="a")
    q = vu_front.BlkQueue(be.sock, qsize=16, inflight=True)
    c.check(q.inflight_version() != 0,
            "the back-end initialised the inflight region (version set)")
    used, st, _ = q.request(T_OUT, 1, pattern(1, 1), write_data=True)
    c.check(used is not None and st == 0, "a write before the crash completes")
    c.equal([q.inflight_desc(i)[0] for i in range(16)], [0] * 16,
            "nothing left in flight after it")
    kill(be)
    q.hangup()

    # What a back-end killed mid-request leaves behind.
    heads = []
    statuses = []
    for k, sector in enumerate((200, 201, 202, 203)):
        hdr = q.alloc(16)
        q.write(hdr, struct.pack("<IIQ", T_OUT, 0, sector))
        data = q.alloc(512)
        q.write(data, pattern(sector, 7))
        st = q.alloc(1)
        q.write(st, b"\xee")
        statuses.append(st)
        heads.append(q.submit_chain([(hdr, 16, 0), (data, 512, 0),
                                     (st, 1, vu_front.DESC_WRITE)], kick=False))
    for k, head in enumerate(heads[:3]):
        q.mark_inflight(head, 100 + k)

    be = splitvm_blk.Backend(blk_exe, tmp, img, name="b")
    q = vu_front.BlkQueue(be.sock, resume=q)
    os.eventfd_write(q.kick, 1)
    done = [q.wait_used() for _ in range(4)]
    c.check(None not in done, "the new back-end completed four requests", str(done))
    c.equal(sorted(e[0] for e in done if e), sorted(heads),
            "each of the four heads completed exactly once")
    c.equal([e[0] for e in done[:3] if e], heads[:3],
            "the three in flight were resubmitted first, oldest first")
    c.check(q.wait_used(timeout=0.5) is None, "and nothing completed twice")
    c.equal([q.read(s, 1)[0] for s in statuses], [0] * 4, "all four answered OK")
    with open(img, "rb") as f:
        f.seek(200 * 512)
        got = f.read(4 * 512)
    c.check(got == b"".join(pattern(s, 7) for s in (200, 201, 202, 203)),
            "their data is in the image")
    c.equal([q.inflight_desc(i)[0] for i in range(16)], [0] * 16,
            "the inflight region is clean afterwards")
    used, st, _ = q.request(T_OUT, 2, pattern(2, 1), write_data=True)
    c.check(used is not None and st == 0, "a new request still completes")
    q.close()
    status, log = be.stop()
    c.check("resubmitting 3 request(s)" in log, "the back-end logged the resubmission",
            log[-600:])


def kill_loop(tmp, img):
    be = splitvm_blk.Backend(blk_exe, tmp, img, name="loop0")
    q = vu_front.BlkQueue(be.sock, qsize=QSIZE, inflight=True)
    outstanding = {}    # head -> (kind, sector, gen, status addr)
    completed = {}      # sector -> gen of the completed write
    submitted = duplicates = bad_status = 0
    gen = 0
    resubmitted = 0
    free_descs = list(range(0, QSIZE, 4))     # 4 descriptors per request
    rng = random.Random(os.getpid())

    def reap(block):
        nonlocal duplicates, bad_status
        e = q.wait_used(timeout=10 if block else 0)
        if e is None:
            return False
        head = e[0]
        if head not in outstanding:
            duplicates += 1
            return True
        kind, sector, g, st = outstanding.pop(head)
        if q.read(st, 1)[0] != 0:
            bad_status += 1
        elif kind == T_OUT:
            completed[sector] = g
        free_descs.append(head)
        return True

    for cycle in range(cycles):
        deadline = time.monotonic() + rng.uniform(0.05, 0.4)
        while time.monotonic() < deadline:
            while free_descs and len(outstanding) < 12:
                head = free_descs.pop(0)
                gen += 1
                hdr = q.alloc(16)
                st = q.alloc(1)
                q.write(st, b"\xee")
                if gen % 5 == 0:
                    q.write(hdr, struct.pack("<IIQ", T_FLUSH, 0, 0))
                    bufs = [(hdr, 16, 0), (st, 1, vu_front.DESC_WRITE)]
                    outstanding[head] = (T_FLUSH, 0, gen, st)
                else:
                    sector = 1000 + gen % 20000
                    data = q.alloc(512)
                    q.write(data, pattern(sector, gen))
                    q.write(hdr, struct.pack("<IIQ", T_OUT, 0, sector))
                    bufs = [(hdr, 16, 0), (data, 512, 0), (st, 1, vu_front.DESC_WRITE)]
                    outstanding[head] = (T_OUT, sector, gen, st)
                q.submit_chain(bufs, head=head)
                submitted += 1
            while reap(False):
                pass
        log = kill(be)
        q.hangup()
        resubmitted += sum(int(m) for m in re.findall(r"resubmitting (\d+) request",
                                                       log))
        be = splitvm_blk.Backend(blk_exe, tmp, img, name=f"loop{cycle + 1}")
        q = vu_front.BlkQueue(be.sock, resume=q)
        os.eventfd_write(q.kick, 1)
    while outstanding and reap(True):
        pass
    q.close()
    resubmitted += sum(int(m) for m in re.findall(r"resubmitting (\d+) request",
                                                   be.stop()[1]))
    print(f"  info kill loop: {submitted} requests, {resubmitted} resubmitted "
          "from the inflight region after a SIGKILL")
    c.equal(len(outstanding), 0, f"kill loop ({cycles} SIGKILLs): every one of "
            f"{submitted} requests completed")
    c.equal(duplicates, 0, "kill loop: no request completed twice")
    c.equal(bad_status, 0, "kill loop: every request answered OK")
    bad = []
    with open(img, "rb") as f:
        for sector, g in completed.items():
            f.seek(sector * 512)
            if f.read(512) != pattern(sector, g):
                bad.append(sector)
    c.equal(bad, [], f"kill loop: the image holds all {len(completed)} completed writes")


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    img = os.path.join(tmp, "disk.img")
    with open(img, "wb") as f:
        f.truncate(SIZE)
    os.chmod(img, 0o600)
    try:
        resubmission(tmp, img)
        kill_loop(tmp, img)
    finally:
        # A failed check must not leave a back-end behind.
        for b in splitvm_blk.Backend.started:
            if b.running():
                b.stop()

c.finish()

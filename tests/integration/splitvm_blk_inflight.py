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
2. The same on a packed ring, where the region keeps copies of the
   taken chains and the ring position: A, B, C taken, B completed first
   (its used descriptor overwrites A's first slot, so A can only come
   back from the region's copy), then the back-end dies (a) between
   recording C's completion and writing it to the ring: C is
   resubmitted; (b) after writing it, before committing it: C is not;
   (c) while recording the take of D: D is taken from the ring again.
   The new back-end gets a stale vring base (QEMU cannot know a packed
   ring's position) and must resume from the region.
3. Reset: requests from before a device reset are never resubmitted,
   split and packed: (a) on a live back-end, GET_VRING_BASE returns
   only once everything taken completed, and the queue restarted from
   zero with the same region serves new requests at the ring's start;
   (b) a back-end killed with requests in flight, then the guest resets
   the device (new region, rings from zero, as QEMU does): the new
   back-end resubmits nothing and the old requests stay unanswered.
4. A packed region the front-end corrupted (a free-list link past the
   ring, which librte_vhost would follow): the device is not started,
   the back-end says why and stays up.
5. Bad inflight messages: a SET_INFLIGHT_FD whose range cannot hold
   the regions it names, or whose fd is shorter than its range, and a
   GET_INFLIGHT_FD for more queues than the back-end has are refused
   (connection closed) and the back-end keeps serving.
6. Kill loop, split and packed: writes (each to its own sector with its
   own pattern) and flushes streamed with up to 12 in flight; the
   back-end is SIGKILLed at a random moment, restarted and reconnected,
   CYCLES times.  Every request submitted completes exactly once across
   all the back-ends (a used element for a request not outstanding is a
   duplicate), and the image holds every completed write.

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


def write_req(q, sector, gen):
    """A write request in guest RAM, not yet submitted: (bufs, status addr)."""
    hdr = q.alloc(16)
    q.write(hdr, struct.pack("<IIQ", T_OUT, 0, sector))
    data = q.alloc(512)
    q.write(data, pattern(sector, gen))
    st = q.alloc(1)
    q.write(st, b"\xee")
    return [(hdr, 16, 0), (data, 512, 0), (st, 1, vu_front.DESC_WRITE)], st


def image_has(img, sector, gen):
    with open(img, "rb") as f:
        f.seek(sector * 512)
        return f.read(512) == pattern(sector, gen)


def packed_resubmission(tmp, img, mid):
    t = f"packed ({mid}): "
    be = splitvm_blk.Backend(blk_exe, tmp, img, name=f"p{mid}a")
    q = vu_front.BlkQueue(be.sock, qsize=16, inflight=True, packed=True)
    used, st, _ = q.request(T_OUT, 1, pattern(1, 1), write_data=True)
    c.check(used is not None and st == 0, t + "a write before the crash completes")
    h = q.packed_region()
    c.check(h["version"] != 0 and q.packed_inflight_heads() == [] and
            (h["old_used_idx"], h["old_used_wrap"]) == (3, 1),
            t + "the region committed its completion (used position 3, wrap 1)", str(h))
    kill(be)
    q.hangup()

    # Four writes A-D at ring positions 3, 6, 9, 12, not kicked.
    reqs = []
    for k, sector in enumerate((300, 301, 302, 303)):
        bufs, st = write_req(q, sector, 7)
        pos = q.packed_avail_pos()
        reqs.append({"pos": pos, "id": q.submit_chain(bufs, kick=False),
                     "st": st, "sector": sector})
    a, b, cc, d = reqs
    # What the dead back-end did: took A, B, C; completed B first.
    for r, counter in ((a, 100), (b, 101), (cc, 102)):
        r["e"] = q.packed_take(r["pos"], 3, counter)
    q.write(b["st"], b"\0")
    q.packed_complete(b["e"], 1)
    e = q.wait_used(timeout=0)
    c.check(e is not None and e[0] == b["id"],
            t + "B's used descriptor is in the ring (over A's first slot)", str(e))
    resubmit = [a, cc]
    if mid == "rollback":
        q.packed_complete(cc["e"], 1, ring=False)
    elif mid == "commit":
        q.write(cc["st"], b"\0")
        q.packed_complete(cc["e"], 1, clear=False)
        e = q.wait_used(timeout=0)
        c.check(e is not None and e[0] == cc["id"], t + "C's used descriptor is in the ring")
        resubmit = [a]
    else:
        q.packed_take(d["pos"], 3, 103, torn=True)

    be = splitvm_blk.Backend(blk_exe, tmp, img, name=f"p{mid}b")
    q = vu_front.BlkQueue(be.sock, resume=q)
    os.eventfd_write(q.kick, 1)
    want = [r["id"] for r in resubmit + [d]]
    done = [q.wait_used() for _ in want]
    c.equal([e[0] if e else None for e in done], want,
            t + "the requests in flight resubmitted first, oldest first, then D from "
            "the ring; each once")
    c.check(q.wait_used(timeout=0.5) is None, t + "and nothing completed twice")
    c.equal([q.read(r["st"], 1)[0] for r in reqs], [0] * 4, t + "all four answered OK")
    c.check(all(image_has(img, r["sector"], 7) for r in resubmit + [d]),
            t + "the data of the requests the new back-end served is in the image")
    c.equal(q.packed_inflight_heads(), [], t + "nothing in flight in the region afterwards")
    used, st, _ = q.request(T_OUT, 2, pattern(2, 1), write_data=True)
    c.check(used is not None and st == 0, t + "a new request still completes")
    q.close()
    log = be.stop()[1]
    c.check(f"resubmitting {len(resubmit)} request(s)" in log,
            t + "the back-end logged the resubmission", log[-800:])
    repair = {"rollback": "not in the ring", "commit": "in the ring: committed",
              "torn": "half recorded"}[mid]
    c.check(repair in log, t + "and how it repaired the region", log[-800:])


def reset_cases(tmp, img, packed):
    t = ("packed" if packed else "split") + " reset: "
    be = splitvm_blk.Backend(blk_exe, tmp, img, name=f"r{int(packed)}a")
    # Room for all eight 3-descriptor requests without a wrap.
    q = vu_front.BlkQueue(be.sock, qsize=32, inflight=True, packed=packed)
    sts = []
    for k in range(8):
        bufs, st = write_req(q, 400 + k, 3)
        q.submit_chain(bufs, head=None if packed else 3 * k)
        sts.append(st)
        if k == 3:
            c.check(q.wait_used() is not None, t + "the queue runs")
    # The reset comes while the back-end works on the last four.
    base = q.reset_queue()
    taken = (base & 0x7fff) // 3 if packed else base
    got = [q.read(st, 1)[0] for st in sts]
    c.check(taken >= 1 and got == [0] * taken + [0xee] * (8 - taken),
            t + "GET_VRING_BASE answered once every request the back-end took "
            "had completed (the rest never started)", f"base {base:#x}: {got}")
    if packed:
        c.equal(q.packed_inflight_heads(), [], t + "nothing left in flight in the region")
    else:
        c.equal([q.inflight_desc(i)[0] for i in range(32)], [0] * 32,
                t + "nothing left in flight in the region")
    used, st, _ = q.request(T_OUT, 410, pattern(410, 3), write_data=True)
    c.check(used is not None and st == 0 and
            (not packed or q.rings[0]["used_seen"] == 3),
            t + "the restarted queue serves a request at the ring's start")

    # Killed with requests in flight; the guest resets the device meanwhile.
    kill(be)
    q.hangup()
    old = []
    for k in range(3):
        bufs, st = write_req(q, 420 + k, 4)
        pos = q.packed_avail_pos() if packed else None
        head = q.submit_chain(bufs, head=None if packed else 4 * (k + 1), kick=False)
        if packed:
            q.packed_take(pos, 3, 50 + k)
        else:
            q.mark_inflight(head, 50 + k)
        old.append(st)
    be = splitvm_blk.Backend(blk_exe, tmp, img, name=f"r{int(packed)}b")
    q = vu_front.BlkQueue(be.sock, resume=q, reset=True)
    used, st, _ = q.request(T_OUT, 430, pattern(430, 4), write_data=True)
    c.check(used is not None and st == 0, t + "after a reset with a dead back-end, a new "
            "request completes")
    c.check(q.wait_used(timeout=0.5) is None, t + "and nothing else is completed")
    c.equal([q.read(s, 1)[0] for s in old], [0xee] * 3,
            t + "requests from before the reset were not resubmitted")
    c.check(not any(image_has(img, 420 + k, 4) for k in range(3)),
            t + "and never reached the image")
    q.close()
    log = be.stop()[1]
    c.check("resubmitting" not in log, t + "the back-end resubmitted nothing", log[-600:])


def corrupt_region(tmp, img):
    be = splitvm_blk.Backend(blk_exe, tmp, img, name="corrupt-a")
    q = vu_front.BlkQueue(be.sock, qsize=16, inflight=True, packed=True)
    used, st, _ = q.request(T_OUT, 6, pattern(6, 1), write_data=True)
    c.check(used is not None and st == 0, "corrupt region: a write completes first")
    kill(be)
    q.hangup()
    h = q.packed_region()
    q._pk_put(h["old_free_head"], next=999)
    be = splitvm_blk.Backend(blk_exe, tmp, img, name="corrupt-b")
    q = vu_front.BlkQueue(be.sock, resume=q)
    bufs, st = write_req(q, 7, 1)
    q.submit_chain(bufs)
    c.check(q.wait_used(timeout=1.5) is None and q.read(st, 1)[0] == 0xee,
            "corrupt region: the device is not started, nothing is served")
    c.check(be.running(), "corrupt region: the back-end stays up")
    q.close()
    log = be.stop()[1]
    c.check("inflight region is inconsistent" in log,
            "corrupt region: the back-end says why", log[-600:])


def bad_inflight(tmp, img):
    be = splitvm_blk.Backend(blk_exe, tmp, img, name="badinfl")
    cases = []
    for what, payload, fd_size in (
            ("a range too small for one 16-entry region", (64, 0, 1, 16), 4096),
            ("a range past the end of its fd", (4096, 4096, 1, 16), 4096),
            ("a queue size that is not a power of two", (4096, 0, 1, 12), 4096)):
        v = vu_front.VhostUser(be.sock)
        v.get_u64(vu_front.GET_FEATURES)
        v.set_u64(vu_front.SET_FEATURES, vu_front.F_VERSION_1 | vu_front.F_PROTOCOL_FEATURES)
        v.get_u64(vu_front.GET_PROTOCOL_FEATURES)
        v.set_u64(vu_front.SET_PROTOCOL_FEATURES, vu_front.PF_INFLIGHT)
        fd = os.memfd_create("infl")
        os.ftruncate(fd, fd_size)
        v.send(vu_front.SET_INFLIGHT_FD, struct.pack("<QQHH4x", *payload), fds=[fd])
        os.close(fd)
        try:
            v.get_u64(vu_front.GET_FEATURES)
            closed = False
        except (EOFError, OSError):
            closed = True
        v.close()
        cases.append((what, closed))
    v = vu_front.VhostUser(be.sock)
    v.get_u64(vu_front.GET_FEATURES)
    v.send(vu_front.GET_INFLIGHT_FD, struct.pack("<QQHH4x", 0, 0, 200, 16))
    try:
        v.recv(vu_front.GET_INFLIGHT_FD)
        closed = False
    except (EOFError, OSError):
        closed = True
    v.close()
    cases.append(("GET_INFLIGHT_FD for 200 queues", closed))
    for what, closed in cases:
        c.check(closed, f"SET/GET_INFLIGHT_FD with {what}: refused")
    q = vu_front.BlkQueue(be.sock, qsize=16, inflight=True)
    used, st, _ = q.request(T_OUT, 5, pattern(5, 1), write_data=True)
    c.check(used is not None and st == 0, "after them the back-end still serves")
    q.close()
    status, log = be.stop()
    c.check(log.count("refused") >= 4, "the back-end logged each refusal", log[-800:])


def kill_loop(tmp, img, packed):
    t = "packed " if packed else ""
    be = splitvm_blk.Backend(blk_exe, tmp, img, name=f"loop{t}0")
    q = vu_front.BlkQueue(be.sock, qsize=QSIZE, inflight=True, packed=packed)
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
        if not packed:
            free_descs.append(head)
        return True

    for cycle in range(cycles):
        deadline = time.monotonic() + rng.uniform(0.05, 0.4)
        while time.monotonic() < deadline:
            while (packed or free_descs) and len(outstanding) < 12:
                head = None if packed else free_descs.pop(0)
                gen += 1
                hdr = q.alloc(16)
                st = q.alloc(1)
                q.write(st, b"\xee")
                if gen % 5 == 0:
                    q.write(hdr, struct.pack("<IIQ", T_FLUSH, 0, 0))
                    bufs = [(hdr, 16, 0), (st, 1, vu_front.DESC_WRITE)]
                    req = (T_FLUSH, 0, gen, st)
                else:
                    sector = 1000 + gen % 20000
                    data = q.alloc(512)
                    q.write(data, pattern(sector, gen))
                    q.write(hdr, struct.pack("<IIQ", T_OUT, 0, sector))
                    bufs = [(hdr, 16, 0), (data, 512, 0), (st, 1, vu_front.DESC_WRITE)]
                    req = (T_OUT, sector, gen, st)
                outstanding[q.submit_chain(bufs, head=head)] = req
                submitted += 1
            while reap(False):
                pass
        log = kill(be)
        q.hangup()
        resubmitted += sum(int(m) for m in re.findall(r"resubmitting (\d+) request",
                                                       log))
        be = splitvm_blk.Backend(blk_exe, tmp, img, name=f"loop{t}{cycle + 1}")
        q = vu_front.BlkQueue(be.sock, resume=q)
        os.eventfd_write(q.kick, 1)
    while outstanding and reap(True):
        pass
    q.close()
    log = be.stop()[1]
    resubmitted += sum(int(m) for m in re.findall(r"resubmitting (\d+) request", log))
    if outstanding:
        print(log[-1500:])
    print(f"  info {t}kill loop: {submitted} requests, {resubmitted} resubmitted "
          "from the inflight region after a SIGKILL")
    c.equal(len(outstanding), 0, f"{t}kill loop ({cycles} SIGKILLs): every one of "
            f"{submitted} requests completed")
    c.equal(duplicates, 0, f"{t}kill loop: no request completed twice")
    c.equal(bad_status, 0, f"{t}kill loop: every request answered OK")
    bad = []
    with open(img, "rb") as f:
        for sector, g in completed.items():
            f.seek(sector * 512)
            if f.read(512) != pattern(sector, g):
                bad.append(sector)
    c.equal(bad, [], f"{t}kill loop: the image holds all {len(completed)} completed writes")


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    img = os.path.join(tmp, "disk.img")
    with open(img, "wb") as f:
        f.truncate(SIZE)
    os.chmod(img, 0o600)
    try:
        resubmission(tmp, img)
        for mid in ("rollback", "commit", "torn"):
            packed_resubmission(tmp, img, mid)
        for packed in (False, True):
            reset_cases(tmp, img, packed)
        corrupt_region(tmp, img)
        bad_inflight(tmp, img)
        for packed in (False, True):
            kill_loop(tmp, img, packed)
    finally:
        # A failed check must not leave a back-end behind.
        for b in splitvm_blk.Backend.started:
            if b.running():
                b.stop()

c.finish()

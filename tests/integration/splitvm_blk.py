#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-blk, our vhost-user-blk back-end, as a user runs it: as uid
65534 with no capabilities (checked in /proc), the 64 MiB raw image
opened by the test and passed with --image-fd.
- Command line: --print-capabilities JSON, root refused without
  --allow-root, usage errors are one line and status 2.
- A raw vhost-user session from this script: GET_QUEUE_NUM, GET_CONFIG
  (capacity, blk_size, seg_max, num_queues, discard and write-zeroes
  limits), and SET_MEM_TABLE with a region larger than its memfd refused
  with an error (not a SIGBUS), a fitting one accepted.
- The test guest's block test through splitvm (polled; MSI-X with a
  reset mid-traffic; INTx), every sector it wrote checked in the raw
  file, GET_ID returning --serial.
- Idle: while the guest leaves the started device alone, the back-end
  uses (almost) no CPU: measured from /proc/PID/stat over 2 s.
- Conformance through a Python front-end (tests/pylib/vu_front.py)
  driving a split ring in a memfd: every request type checked in the
  image; out-of-range, partial-sector, wrong-direction, unknown-type,
  unsupported-flag requests and a header outside guest memory answered
  with IOERR/UNSUPP and nothing written; a read-only status descriptor,
  a descriptor loop, a next index past the ring and an unnegotiated
  indirect descriptor returned with length 0; then a write still works.
- Two queues busy at once (a thread and stats each), indirect
  descriptors with EVENT_IDX negotiated, 20 immediate reconnects; --fd with a socket
  pair (the back-end exits when the front-end hangs up).
- --direct: O_DIRECT, unaligned guest buffers through a bounce buffer.
- --poll-us 1000000: 10000 requests in a row while the queue thread
  polls the avail ring without pause.
- --read-only: VIRTIO_BLK_F_RO offered (the guest refuses the disk),
  OUT/DISCARD/WRITE_ZEROES answered IOERR, the image unchanged byte for
  byte, reads still work."""

import hashlib
import json
import signal
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import blkguest  # noqa: E402
import splitvm_blk  # noqa: E402
import vu_front  # noqa: E402
from vu_front import (F_PROTOCOL_FEATURES, F_VERSION_1, GET_CONFIG,  # noqa: E402
                      GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM,
                      NEED_REPLY, PF_CONFIG, PF_INFLIGHT, PF_MQ, PF_REPLY_ACK,
                      SET_FEATURES, SET_MEM_TABLE, SET_OWNER,
                      SET_PROTOCOL_FEATURES, mem_table)
import svmtest  # noqa: E402

splitvm, guest, blk_exe = sys.argv[1:4]
c = svmtest.Checker("splitvm_blk")
splitvm_blk.require(blk_exe)
svmtest.require_kvm()

SERIAL = "splitvm-test-0042"
SIZE = 64 << 20


def command_line(tmp):
    r = svmtest.run([blk_exe, "--print-capabilities"], timeout=30)
    try:
        caps = json.loads(r.stdout)
    except ValueError:
        caps = {}
    c.equal(r.status, 0, "--print-capabilities exits 0")
    c.equal(caps.get("type"), "block", "capabilities: type block")
    c.check({"read-only", "blk-file"} <= set(caps.get("features", [])),
            "capabilities: read-only and blk-file", r.stdout)

    img = os.path.join(tmp, "root.img")
    with open(img, "wb") as f:
        f.truncate(1 << 20)
    r = svmtest.run([blk_exe, "--socket-path", os.path.join(tmp, "x.sock"),
                     "--blk-file", img], timeout=30)
    c.equal(r.status, 1, "as root without --allow-root: status 1")
    c.check("refusing to run as root" in r.stderr, "as root: says why", r.stderr)
    c.check(not os.path.exists(os.path.join(tmp, "x.sock")),
            "as root: no socket created")

    r = svmtest.run([blk_exe, "--socket-path", "a", "--fd", "3",
                     "--blk-file", img], timeout=30)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    c.equal(r.status, 2, "--socket-path with --fd: usage status 2")
    c.check(len(lines) == 1 and "exactly one of --socket-path and --fd" in lines[0],
            "--socket-path with --fd: one line", r.stderr)


# ---- raw vhost-user sessions from this script -------------------------------

def raw_session(be):
    v = vu_front.VhostUser(be.sock)
    features = v.get_u64(GET_FEATURES)
    c.check(features & F_PROTOCOL_FEATURES and features & F_VERSION_1,
            "GET_FEATURES: VERSION_1 and PROTOCOL_FEATURES", hex(features))
    for bit, what in ((9, "FLUSH"), (13, "DISCARD"), (14, "WRITE_ZEROES"),
                      (12, "MQ"), (6, "BLK_SIZE"), (2, "SEG_MAX")):
        c.check(features & (1 << bit), f"feature VIRTIO_BLK_F_{what} offered")
    c.check(not features & (1 << 5), "VIRTIO_BLK_F_RO not offered on a writable image")
    v.set_u64(SET_FEATURES, F_VERSION_1 | F_PROTOCOL_FEATURES | (1 << 9))
    pf = v.get_u64(GET_PROTOCOL_FEATURES)
    c.check(pf & PF_CONFIG and pf & PF_MQ and pf & PF_REPLY_ACK and pf & PF_INFLIGHT,
            "protocol features: MQ, REPLY_ACK, CONFIG, INFLIGHT_SHMFD", hex(pf))
    v.set_u64(SET_PROTOCOL_FEATURES, PF_MQ | PF_REPLY_ACK | PF_CONFIG)
    v.send(SET_OWNER)
    c.equal(v.get_u64(GET_QUEUE_NUM), 2, "GET_QUEUE_NUM: --num-queues 2")

    v.send(GET_CONFIG, struct.pack("<III", 0, 60, 0) + bytes(60))
    body = v.recv(GET_CONFIG)
    off, size, _ = struct.unpack_from("<III", body)
    cfg = body[12:]
    c.equal((off, size, len(cfg)), (0, 60, 60), "GET_CONFIG: 60 bytes from offset 0")
    if len(cfg) == 60:
        capacity, size_max, seg_max = struct.unpack_from("<QII", cfg, 0)
        blk_size, = struct.unpack_from("<I", cfg, 20)
        num_queues, = struct.unpack_from("<H", cfg, 34)
        mds, mdseg, dalign, mwz, mwzseg = struct.unpack_from("<IIIII", cfg, 36)
        c.equal(capacity, SIZE // 512, "config capacity = image size / 512")
        c.equal(blk_size, 512, "config blk_size")
        c.check(1 <= seg_max <= 254 and size_max > 0, "config seg_max and size_max",
                f"seg_max={seg_max} size_max={size_max}")
        c.equal(num_queues, 2, "config num_queues")
        c.check(mds > 0 and mdseg > 0 and mwz > 0 and mwzseg > 0 and cfg[56] == 1,
                "config discard and write-zeroes limits, may unmap",
                f"{mds} {mdseg} {dalign} {mwz} {mwzseg} {cfg[56]}")

    # A region bigger than its memfd: DPDK would map it and fault later.
    small = os.memfd_create("small-ram")
    os.ftruncate(small, 64 << 10)
    v.send(SET_MEM_TABLE, mem_table([(0, 1 << 20, 0)]), fds=[small], flags=NEED_REPLY)
    nack = struct.unpack("<Q", v.recv(SET_MEM_TABLE))[0]
    c.check(nack != 0, "SET_MEM_TABLE with a region past its fd's end: refused")
    v.send(SET_MEM_TABLE, mem_table([(0, 32 << 10, 48 << 10)]), fds=[small], flags=NEED_REPLY)
    nack2 = struct.unpack("<Q", v.recv(SET_MEM_TABLE))[0]
    c.check(nack2 != 0, "SET_MEM_TABLE with offset + size past the fd's end: refused")
    big = os.memfd_create("ram")
    os.ftruncate(big, 1 << 20)
    v.send(SET_MEM_TABLE, mem_table([(0, 1 << 20, 0)]), fds=[big], flags=NEED_REPLY)
    ack = struct.unpack("<Q", v.recv(SET_MEM_TABLE))[0]
    c.equal(ack, 0, "SET_MEM_TABLE with a region that fits: accepted")
    os.close(small)
    os.close(big)
    v.close()
    time.sleep(0.5)
    c.check(be.running(), "the back-end survives the session and its bad tables")
    c.check("does not fit its fd" in be.text(), "the refusal is logged")


S_OK, S_IOERR, S_UNSUPP = 0, 1, 2
T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WRITE_ZEROES = 0, 1, 4, 8, 11, 13


def sector_of(img, sector, count=1):
    with open(img, "rb") as f:
        f.seek(sector * 512)
        return f.read(512 * count)


def conformance(be, img):
    """Every request type, and bad requests answered with the right
    status (or, without a usable status byte, returned unanswered) while
    the back-end keeps serving."""
    q = vu_front.BlkQueue(be.sock)
    cap = SIZE // 512
    data = bytes((i * 7 + 3) & 0xFF for i in range(1024))

    used, st, _ = q.request(T_OUT, 10, data, write_data=True)
    c.check(used is not None and st == S_OK and used[1] == 1,
            "OUT 2 sectors: OK, used length 1", f"{used} status={st}")
    c.equal(sector_of(img, 10, 2), data, "OUT: the data is in the image")
    used, st, addr = q.request(T_IN, 10, data_len=1024)
    c.check(used is not None and st == S_OK and used[1] == 1025 and
            q.read(addr, 1024) == data,
            "IN 2 sectors: OK, used length 1025, the data read back", f"{used} {st}")
    used, st, _ = q.request(T_GET_ID, 0, data_len=20)
    ident = q.read(_, 20) if _ else b""
    c.check(st == S_OK and ident.rstrip(b"\0").decode(errors="replace") == SERIAL,
            "GET_ID: the serial", repr(ident))
    used, st, _ = q.request(T_FLUSH, 0)
    c.check(used is not None and st == S_OK, "FLUSH: OK", f"{used} {st}")

    # Write zeroes over sector 10, discard sector 11.
    seg = struct.pack("<QII", 10, 1, 0)
    used, st, _ = q.request(T_WRITE_ZEROES, 0, seg, write_data=True)
    c.check(st == S_OK and sector_of(img, 10) == bytes(512) and
            sector_of(img, 11) == data[512:],
            "WRITE_ZEROES one sector: OK, that sector reads zero, its neighbour kept",
            f"status={st}")
    seg = struct.pack("<QII", 11, 1, 0)
    used, st, _ = q.request(T_DISCARD, 0, seg, write_data=True)
    c.equal(st, S_OK, "DISCARD one sector: OK")
    seg = struct.pack("<QII", 12, 1, 1)
    used, st, _ = q.request(T_WRITE_ZEROES, 0, seg, write_data=True)
    c.equal(st, S_OK, "WRITE_ZEROES with UNMAP: OK")

    # Rejected requests: status, and nothing written.
    used, st, _ = q.request(T_IN, cap - 1, data_len=1024)
    c.check(st == S_IOERR and used[1] == 1, "IN crossing the end: IOERR", f"{used} {st}")
    used, st, _ = q.request(T_OUT, cap, data, write_data=True)
    c.equal(st, S_IOERR, "OUT at the capacity: IOERR")
    used, st, _ = q.request(T_OUT, (1 << 64) - 1, data, write_data=True)
    c.equal(st, S_IOERR, "OUT at sector 2^64-1 (range wraps): IOERR")
    used, st, _ = q.request(T_OUT, 20, data[:100], write_data=True)
    c.check(st == S_IOERR and sector_of(img, 20) == bytes(512),
            "OUT of 100 bytes (not whole sectors): IOERR, nothing written")
    used, st, _ = q.request(T_IN, 20, data, write_data=True)
    c.equal(st, S_IOERR, "IN with a device-readable data buffer: IOERR")
    used, st, _ = q.request(99, 0)
    c.equal(st, S_UNSUPP, "unknown request type 99: UNSUPP")
    seg = struct.pack("<QII", 30, 1, 1)
    used, st, _ = q.request(T_DISCARD, 0, seg, write_data=True)
    c.equal(st, S_UNSUPP, "DISCARD with the UNMAP flag: UNSUPP")
    seg = struct.pack("<QII", 30, 1, 0) + struct.pack("<QII", cap - 1, 2, 0)
    q.write(q.alloc(0), b"")
    used, st, _ = q.request(T_WRITE_ZEROES, 0, seg, write_data=True)
    c.equal(st, S_IOERR, "WRITE_ZEROES with one segment past the end: IOERR")
    used, st, _ = q.request(T_OUT, 0, data, write_data=True,
                            hdr_addr=q.mem_size + 4096)
    c.check(st == S_IOERR and used[1] == 1,
            "header outside guest memory: IOERR", f"{used} {st}")

    # No usable status byte: the chain comes back with length 0, untouched.
    hdr = q.alloc(16)
    q.write(hdr, struct.pack("<IIQ", T_OUT, 0, 40))
    used, st, _ = q.request(T_OUT, 40, data, write_data=True, status_flags=0)
    c.check(used is not None and used[1] == 0 and st == 0xEE and
            sector_of(img, 40) == bytes(512),
            "status descriptor device-readable: returned with length 0, "
            "status and image untouched", f"{used} {st:#x}")
    head = q.next_desc
    q.put_desc(head, hdr, 16, vu_front.DESC_NEXT, head)
    q.next_desc = (head + 1) % q.qsize
    q.publish(head)
    used = q.wait_used()
    c.check(used is not None and used[0] == head and used[1] == 0,
            "a descriptor chained to itself: returned with length 0", str(used))
    head = q.next_desc
    q.put_desc(head, hdr, 16, vu_front.DESC_NEXT, q.qsize + 5)
    q.next_desc = (head + 1) % q.qsize
    q.publish(head)
    used = q.wait_used()
    c.check(used is not None and used[0] == head and used[1] == 0,
            "a next index past the ring: returned with length 0", str(used))
    head = q.next_desc
    q.put_desc(head, hdr, 32, vu_front.DESC_INDIRECT)
    q.next_desc = (head + 1) % q.qsize
    q.publish(head)
    used = q.wait_used()
    c.check(used is not None and used[0] == head and used[1] == 0,
            "an indirect descriptor without INDIRECT_DESC negotiated: length 0",
            str(used))

    # Writethrough (CONFIG_WCE): wce is writable through SET_CONFIG.
    c.check(q.offered & (1 << 11), "VIRTIO_BLK_F_CONFIG_WCE offered")
    q.v.send(vu_front.SET_CONFIG, struct.pack("<III", 32, 1, 0) + b"\x00")
    q.v.send(GET_CONFIG, struct.pack("<III", 0, 60, 0) + bytes(60))
    wce = q.v.recv(GET_CONFIG)[12 + 32]
    c.equal(wce, 0, "SET_CONFIG wce=0: GET_CONFIG reads writethrough back")
    mark = len(be.text())
    used, st, _ = q.request(T_OUT, 50, data, write_data=True)
    be.proc.send_signal(signal.SIGUSR1)
    time.sleep(0.5)
    syncs = re.findall(r"queue 0: .* syncs=(\d+)", be.text()[mark:])
    c.check(st == S_OK and syncs and int(syncs[-1]) >= 1,
            "writethrough: the write completed after an fdatasync", str(syncs))
    q.v.send(vu_front.SET_CONFIG, struct.pack("<III", 32, 1, 0) + b"\x01")

    # Still serving.
    used, st, _ = q.request(T_OUT, 100, data, write_data=True)
    c.check(st == S_OK and sector_of(img, 100, 2) == data,
            "after all that, a write still works")
    q.close()
    time.sleep(0.5)
    c.check(be.running(), "the back-end is still running")


def indirect_event_idx(be, img):
    """Indirect descriptors and event-index suppression, negotiated."""
    q = vu_front.BlkQueue(be.sock, features=(1 << 28) | (1 << 29))
    data = bytes((i * 11 + 5) & 0xFF for i in range(2048))
    for rnd in range(3):
        table = q.alloc(3 * 16)
        hdr = q.alloc(16)
        q.write(hdr, struct.pack("<IIQ", T_OUT, 0, 300 + 4 * rnd))
        buf = q.alloc(2048)
        q.write(buf, data)
        st = q.alloc(1)
        q.write(st, b"\xee")
        struct.pack_into("<QIHH", q.mem, table, hdr, 16, vu_front.DESC_NEXT, 1)
        struct.pack_into("<QIHH", q.mem, table + 16, buf, 2048, vu_front.DESC_NEXT, 2)
        struct.pack_into("<QIHH", q.mem, table + 32, st, 1, vu_front.DESC_WRITE, 0)
        head = q.next_desc
        q.put_desc(head, table, 3 * 16, vu_front.DESC_INDIRECT)
        q.next_desc = (head + 1) % q.qsize
        q.publish(head)
        used = q.wait_used()
        c.check(used is not None and used[0] == head and q.read(st, 1)[0] == S_OK and
                sector_of(img, 300 + 4 * rnd, 4) == data,
                f"indirect OUT request {rnd + 1} of 3 (EVENT_IDX negotiated): OK, in the image",
                str(used))
    q.close()


def multiqueue(be, img):
    """Two queues, each with its own thread and io_uring, busy at once."""
    q = vu_front.BlkQueue(be.sock, queues=2, qsize=32)
    heads = {0: {}, 1: {}}
    for n in range(8):
        for qi in (0, 1):
            q.cur = qi
            sector = 600 + 16 * qi + n
            hdr, data, st = q.alloc(16), q.alloc(512), q.alloc(1)
            q.write(hdr, struct.pack("<IIQ", T_OUT, 0, sector))
            q.write(data, bytes([qi * 16 + n + 1]) * 512)
            q.write(st, b"\xee")
            head = q.submit_chain([(hdr, 16, 0), (data, 512, 0),
                                   (st, 1, vu_front.DESC_WRITE)])
            heads[qi][head] = (sector, st)
    done = {0: 0, 1: 0}
    for qi in (0, 1):
        q.cur = qi
        for _ in range(8):
            e = q.wait_used()
            if e and e[0] in heads[qi] and q.read(heads[qi][e[0]][1], 1)[0] == S_OK:
                done[qi] += 1
    c.equal(done, {0: 8, 1: 8}, "two queues: 8 writes completed on each")
    threads = be.threads()
    c.check("blk-q0" in threads and "blk-q1" in threads,
            "two queues: one back-end thread per queue", str(threads))
    want = b"".join(bytes([qi * 16 + n + 1]) * 512 for qi in (0, 1) for n in range(8))
    got = sector_of(img, 600, 8) + sector_of(img, 616, 8)
    c.check(got == want, "two queues: every write is in the image")
    mark = len(be.text())
    be.proc.send_signal(signal.SIGUSR1)
    time.sleep(0.5)
    w = {int(a): int(b) for a, b in re.findall(r"queue (\d): done=\d+ read=\d+ write=(\d+)",
                                               be.text()[mark:])}
    c.check(w.get(0, 0) >= 8 and w.get(1, 0) >= 8,
            "two queues: per-queue stats count each queue's writes", str(w))
    q.close()


def packed_ring(be, img):
    """A packed virtqueue (VIRTIO_F_RING_PACKED), with and without
    indirect descriptors and event index, wrapping several times."""
    for feats, what in ((0, "packed"), ((1 << 28) | (1 << 29), "packed+indirect+event_idx")):
        q = vu_front.BlkQueue(be.sock, qsize=8, packed=True, features=feats)
        ok = 0
        for n in range(20):     # 3 descriptors each: the ring wraps 7 times
            data = bytes([n + 1]) * 512
            used, st, _ = q.request(T_OUT, 700 + n, data, write_data=True)
            used2, st2, addr = q.request(T_IN, 700 + n, data_len=512)
            ok += (st == S_OK and st2 == S_OK and used2 is not None and
                   used2[1] == 513 and q.read(addr, 512) == data)
        c.equal(ok, 20, f"{what}: 20 write+read pairs through a ring of 8")
        if feats:
            table, hdr, st = q.alloc(48), q.alloc(16), q.alloc(1)
            buf = q.alloc(1024)
            q.write(hdr, struct.pack("<IIQ", T_OUT, 0, 740))
            q.write(buf, b"\x77" * 1024)
            q.write(st, b"\xee")
            struct.pack_into("<QIHH", q.mem, table, hdr, 16, 0, 0)
            struct.pack_into("<QIHH", q.mem, table + 16, buf, 1024, 0, 0)
            struct.pack_into("<QIHH", q.mem, table + 32, st, 1, 0, vu_front.DESC_WRITE)  # id, flags
            q.submit_chain([(table, 48, vu_front.DESC_INDIRECT)])
            used = q.wait_used()
            c.check(used is not None and q.read(st, 1)[0] == S_OK and
                    sector_of(img, 740, 2) == b"\x77" * 1024,
                    f"{what}: an indirect request", str(used))
        q.close()
        time.sleep(0.3)
    c.equal(sector_of(img, 719), bytes([20]) * 512, "packed: the last write is in the image")


def fast_reconnect(be):
    """A front-end that reconnects at once, 20 times: librte_vhost may
    see the new connection before the old one's hang-up."""
    ok = 0
    time.sleep(0.5)         # the previous connection's hang-up handled
    fds = len(os.listdir(f"/proc/{be.pid}/fd"))
    for i in range(20):
        q = vu_front.BlkQueue(be.sock, packed=i % 2 == 1)
        used, st, _ = q.request(T_FLUSH, 0)
        ok += used is not None and st == S_OK
        q.close()
    c.equal(ok, 20, "20 immediate reconnects (split and packed): each served a FLUSH")
    time.sleep(0.5)
    c.equal(len(os.listdir(f"/proc/{be.pid}/fd")), fds,
            "20 reconnects later the back-end holds as many fds as before")


def fd_mode(tmp, img):
    """--fd: the vhost-user socket handed over already connected."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    be = splitvm_blk.Backend(blk_exe, tmp, img, name="fd", sock_fd=theirs.fileno())
    theirs.close()
    try:
        q = vu_front.BlkQueue(ours)
        data = bytes(range(256)) * 2
        used, st, _ = q.request(T_OUT, 500, data, write_data=True)
        c.check(used is not None and st == S_OK and sector_of(img, 500) == data,
                "--fd: a write through the inherited socket lands in the image")
        q.close()
        try:
            be.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    finally:
        status, log = be.stop()
    c.equal(status, 0, "--fd: the back-end exits 0 when the front-end hangs up")


def stall_report(be, q, what):
    """What to print when a request saw no used element in time, taken
    before anything else is kicked: the ring, what the back-end logged as
    errors and warnings (a queue it stopped says why), its counters
    (inflight=1: the I/O was submitted and has not completed; inflight=0
    with avail ahead of used: the request was never taken) and where
    each of its threads waits."""
    mark = len(be.text())
    said = [ln for ln in be.text().splitlines() if re.search(r": (error|warning): ", ln)]
    alive = be.running()
    if alive:
        be.proc.send_signal(signal.SIGUSR1)
        time.sleep(0.3)
    return (f"\n    {what}: no used element; {q.ring_state()}; back-end "
            f"{'running' if alive else 'exited ' + str(be.proc.returncode)}\n    "
            + "".join(ln + "\n    " for ln in said)
            + be.text()[mark:].strip().replace("\n", "\n    ") + "\n    "
            + be.snapshot().replace("\n", "\n    "))


def direct_mode(tmp):
    """--direct: O_DIRECT on the image; unaligned guest buffers bounced."""
    img = os.path.join(tmp, "direct.img")
    with open(img, "wb") as f:
        f.truncate(SIZE)
    os.chmod(img, 0o600)
    be = splitvm_blk.Backend(blk_exe, tmp, img, args=["--direct"], name="direct")
    if not be.running() and "O_DIRECT" in be.text():
        # Not a pass: nothing about --direct was checked.
        print(f"  info --direct not checked: {tmp} has no O_DIRECT ({be.text().strip()})")
        be.stop()
        return
    if not c.check(be.running(), "--direct: the back-end runs", be.text()[-300:]):
        be.stop()
        return
    try:
        q = vu_front.BlkQueue(be.sock)
        data = bytes((i * 3 + 1) & 0xFF for i in range(1024))
        q.alloc(8)              # leave the next buffer unaligned
        stalls = []
        t0 = time.monotonic()
        used, st, _ = q.request(T_OUT, 10, data, write_data=True)
        t1 = time.monotonic()
        if used is None:
            stalls.append(stall_report(be, q, "write"))
        used2, st2, addr = q.request(T_IN, 10, data_len=1024)
        t2 = time.monotonic()
        if used2 is None:
            stalls.append(stall_report(be, q, "read"))
        back, disk = q.read(addr, 1024) == data, sector_of(img, 10, 2) == data
        c.check(st == S_OK and st2 == S_OK and back and disk,
                "--direct: an unaligned write and read round-trip through the image",
                f"write {used} status {st:#x} in {t1 - t0:.3f} s, read {used2} "
                f"status {st2:#x} in {t2 - t1:.3f} s, read back "
                f"{'equal' if back else 'different'}, image "
                f"{'equal' if disk else 'different'}" + "".join(stalls))
        mark = len(be.text())
        be.proc.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
        bounced = re.findall(r"bounced=(\d+)", be.text()[mark:])
        c.check(bounced and int(bounced[-1]) >= 1, "--direct: they went through a "
                "bounce buffer", str(bounced))
        q.close()
    finally:
        status, log = be.stop()
    c.equal(status, 0, "--direct back-end exits 0")


def busy_poll(tmp):
    """--poll-us 1000000: the queue thread reads the avail index without
    pause while this front-end publishes 10000 requests one after the
    other.  Each must be served; an index the front-end wrote in two
    steps (struct.pack_into zeroes the field first) was read as a ring
    away and stopped the queue, which is how the --direct round trip
    once timed out (vu_front.store16)."""
    img = os.path.join(tmp, "busy.img")
    with open(img, "wb") as f:
        f.truncate(1 << 20)
    os.chmod(img, 0o600)
    be = splitvm_blk.Backend(blk_exe, tmp, img, args=["--poll-us", "1000000"],
                             name="busy")
    try:
        q = vu_front.BlkQueue(be.sock)
        ok, last = 0, None
        for _ in range(10000):
            used, st, _ = q.request(T_GET_ID, 0, data_len=20)
            if used is None or st != S_OK:
                last = f"request {ok + 1}: used {used} status {st:#x}"
                last += stall_report(be, q, "GET_ID")
                break
            ok += 1
        c.check(ok == 10000, "--poll-us 1000000: 10000 requests served while "
                "the back-end polls the avail ring", f"{ok} served; {last}")
        q.close()
    finally:
        status, log = be.stop()
    c.equal(status, 0, "busy-polling back-end exits 0")


def idle_check(be, sock):
    """The guest leaves the started device idle; the back-end must sleep."""
    proc = subprocess.Popen([splitvm, "--kernel", guest, "--memory", "64M",
                             "--disk", f"socket={sock}",
                             "--cmdline", "guest.ticks=1 guest.exit=poweroff "
                                          "guest.blk=1 guest.blk_idle_ms=12000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = []
    idle = threading.Event()

    def read():
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode(errors="replace")
            lines.append(line)
            if "guest: blk idle start" in line:
                idle.set()

    t = threading.Thread(target=read, daemon=True)
    t.start()
    used = None
    if idle.wait(120):
        time.sleep(0.5)     # past the spin before sleeping
        threads = be.threads()
        before = be.cpu_seconds()
        start = time.monotonic()
        time.sleep(2.0)
        used = be.cpu_seconds() - before
        wall = time.monotonic() - start
        c.check("blk-q0" in threads, "idle: the queue thread exists (device started)",
                str(threads))
        c.check(used < 0.1 * wall,
                "idle: the back-end used under 10% of a CPU while the device sat idle",
                f"{used:.2f} s CPU in {wall:.2f} s")
        print(f"  info idle CPU: {used:.3f} s in {wall:.2f} s")
        mark = len(be.text())
        be.proc.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
        text = be.text()[mark:]
        stats = re.search(r"queue 0: done=(\d+) read=(\d+) write=(\d+) flush=(\d+) "
                          r"get_id=(\d+).* inflight=(\d+) ", text)
        hist = re.search(r"queue 0 latency_us:((?: <\d+=\d+)+)", text)
        c.check(stats is not None and int(stats.group(2)) > 0 and
                int(stats.group(3)) > 0 and int(stats.group(4)) > 0 and
                int(stats.group(5)) == 1 and int(stats.group(6)) == 0,
                "SIGUSR1: per-queue counters (reads, writes, flushes, one GET_ID, "
                "none in flight while idle)", stats.group(0) if stats else text[-300:])
        total = sum(int(n) for n in re.findall(r"=(\d+)", hist.group(1))) if hist else -1
        reqs = sum(int(stats.group(k)) for k in range(1, 6)) if stats else -2
        c.equal(total, reqs, "SIGUSR1: the latency histogram counts every request")
    else:
        c.check(False, "the guest reached its idle period")
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    t.join(5)
    out = "".join(lines)
    c.check("guest: blk idle end" in out and "guest: result=PASS" in out,
            "idle run: the guest passes after its idle period", out[-400:])


def read_only(tmp):
    img = os.path.join(tmp, "ro.img")
    with open(img, "wb") as f:
        f.write(bytes([0xA5]) * SIZE)
    os.chmod(img, 0o600)
    digest = hashlib.sha256(open(img, "rb").read()).hexdigest()
    be = splitvm_blk.Backend(blk_exe, tmp, img, read_only=True, name="ro")
    try:
        c.check(be.running(), "read-only back-end is running")
        # The test guest refuses a read-only disk before writing to it ...
        r = svmtest.run([splitvm, "--kernel", guest, "--memory", "64M",
                         "--disk", f"socket={be.sock}",
                         "--cmdline", "guest.ticks=1 guest.exit=poweroff guest.blk=1"],
                        timeout=120)
        c.check('FAIL reason="device is read-only"' in r.stdout,
                "read-only: the guest is offered VIRTIO_BLK_F_RO and says so",
                r.stdout[-300:])
        # ... so the writes come from this script's front-end.
        q = vu_front.BlkQueue(be.sock)
        c.check(q.offered & (1 << 5), "read-only: GET_FEATURES has VIRTIO_BLK_F_RO")
        used, st, _ = q.request(T_OUT, 8, bytes(1024), write_data=True)
        c.check(used is not None and st == S_IOERR, "read-only: OUT answered IOERR",
                f"{used} {st}")
        seg = struct.pack("<QII", 0, 8, 0)
        used, st, _ = q.request(T_WRITE_ZEROES, 0, seg, write_data=True)
        c.equal(st, S_IOERR, "read-only: WRITE_ZEROES answered IOERR")
        used, st, _ = q.request(T_DISCARD, 0, seg, write_data=True)
        c.equal(st, S_IOERR, "read-only: DISCARD answered IOERR")
        used, st, addr = q.request(T_IN, 8, data_len=512)
        c.check(st == S_OK and q.read(addr, 512) == bytes([0xA5]) * 512,
                "read-only: IN still works")
        used, st, _ = q.request(T_FLUSH, 0)
        c.equal(st, S_OK, "read-only: FLUSH is OK")
        q.close()
        c.check(hashlib.sha256(open(img, "rb").read()).hexdigest() == digest,
                "read-only: the image is unchanged byte for byte")
        c.check(be.running(), "read-only: the back-end keeps running")
    finally:
        status, log = be.stop()
    c.equal(status, 0, "read-only back-end exits 0 on SIGTERM")


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    command_line(tmp)

    img = os.path.join(tmp, "disk.img")
    with open(img, "wb") as f:
        f.truncate(SIZE)
    os.chmod(img, 0o600)    # nobody can reach it only through the fd
    be = splitvm_blk.Backend(blk_exe, tmp, img,
                             args=["--serial", SERIAL, "--num-queues", "2"])
    try:
        if not c.check(be.running(), "splitvm-blk is running as uid 65534"):
            print(be.stop()[1])
            c.finish()
        st = be.status()
        c.check(st["Uid"].split() == ["65534"] * 4 and st["Gid"].split() == ["65534"] * 4,
                "real, effective, saved and fs uid/gid are all 65534",
                f"Uid {st['Uid']} Gid {st['Gid']}")
        c.equal(int(st["CapEff"], 16), 0, "no effective capabilities")
        c.equal(int(st["CapPrm"], 16), 0, "no permitted capabilities")

        raw_session(be)
        conformance(be, img)
        indirect_event_idx(be, img)
        multiqueue(be, img)
        packed_ring(be, img)
        fast_reconnect(be)
        blkguest.zero_image(img)
        blkguest.guest_runs(c, splitvm, guest, be.sock, img, be.running,
                            "splitvm-blk", serial=SERIAL)
        idle_check(be, be.sock)
    finally:
        status, log = be.stop()
    c.equal(status, 0, "splitvm-blk exits 0 on SIGTERM")
    unexpected = [ln for ln in log.splitlines()
                  if re.search(r": (error|warning): ", ln) and "SET_MEM_TABLE" not in ln
                  and "returned without a status" not in ln]
    c.equal(unexpected, [], "splitvm-blk logged no error or warning but the "
            "refused tables and unanswerable chains")
    read_only(tmp)
    fd_mode(tmp, img)
    direct_mode(tmp)
    busy_poll(tmp)

c.finish()

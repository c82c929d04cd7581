# SPDX-License-Identifier: GPL-2.0-only
"""A minimal vhost-user front-end in Python for driving a blk back-end
from a test: negotiation, a memfd as "guest RAM", split or packed
virtqueues that the test fills with arbitrary (also hostile) descriptor
chains, a polled used ring, and the inflight region (split and packed,
as librte_vhost lays it out) kept across back-end restarts and resets.
Wire layouts follow protocol/vhost_user.h."""

import mmap
import os
import socket
import struct
import sys
import time

GET_FEATURES, SET_FEATURES, SET_OWNER, SET_MEM_TABLE = 1, 2, 3, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL = 12, 13
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM = 15, 16, 17
SET_VRING_ENABLE, GET_CONFIG, SET_CONFIG = 18, 24, 25
GET_INFLIGHT_FD, SET_INFLIGHT_FD = 31, 32
F_PROTOCOL_FEATURES = 1 << 30
F_VERSION_1 = 1 << 32
F_RING_PACKED = 1 << 34
PACKED_AVAIL, PACKED_USED = 1 << 7, 1 << 15
PF_MQ, PF_REPLY_ACK, PF_CONFIG, PF_INFLIGHT = 1 << 0, 1 << 3, 1 << 9, 1 << 12
NEED_REPLY = 1 << 3
DESC_NEXT, DESC_WRITE, DESC_INDIRECT = 1, 2, 4

# Guest RAM layout of queue 0; queue i is RING_STRIDE * i higher, and
# request buffers start above the last queue.
DESC, AVAIL, USED, DATA = 0x0, 0x1000, 0x2000, 0x4000
RING_STRIDE = 0x4000
UADDR = 0x10000000      # the front-end "virtual address" of guest RAM

assert sys.byteorder == "little", "rings are little-endian; store16 is native"


def store16(mem, off, value):
    """One 2-byte store of a ring word the back-end may read at that very
    moment (avail->idx, a packed descriptor's flags), as a driver must
    publish it.  Not struct.pack_into: CPython zeroes the field before it
    writes the bytes, and splitvm-blk polling the avail ring read that 0
    as an index a whole ring away, stopped the queue as corrupt, and the
    next request timed out (the --direct flake of tests/splitvm_blk)."""
    with memoryview(mem) as m, m.cast("H") as words:
        words[off // 2] = value


def load16(mem, off):
    """One 2-byte load of a ring word the back-end may be writing."""
    with memoryview(mem) as m, m.cast("H") as words:
        return words[off // 2]


class VhostUser:
    """Messages on a vhost-user socket."""

    def __init__(self, path):
        """path: a unix socket path, or an already connected socket."""
        if isinstance(path, socket.socket):
            self.s = path
        else:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.connect(path)
        self.s.settimeout(10)

    def send(self, req, payload=b"", fds=(), flags=0):
        msg = struct.pack("<III", req, 0x1 | flags, len(payload)) + payload
        socket.send_fds(self.s, [msg], list(fds))

    def recv(self, req):
        hdr = b""
        while len(hdr) < 12:
            chunk = self.s.recv(12 - len(hdr))
            if not chunk:
                raise EOFError("back-end closed the connection")
            hdr += chunk
        r, flags, size = struct.unpack("<III", hdr)
        body = b""
        while len(body) < size:
            chunk = self.s.recv(size - len(body))
            if not chunk:
                raise EOFError("back-end closed the connection")
            body += chunk
        if r != req or not flags & 0x4:
            raise ValueError(f"reply {r} flags {flags:#x} to request {req}")
        return body

    def recv_fds(self, req):
        """A reply that carries fds: (payload, fds)."""
        data, fds, _, _ = socket.recv_fds(self.s, 4096, 8)
        r, flags, size = struct.unpack_from("<III", data)
        if r != req or not flags & 0x4 or len(data) != 12 + size:
            raise ValueError(f"reply {r} flags {flags:#x} size {size} to {req}")
        return data[12:], fds

    def get_u64(self, req):
        self.send(req)
        return struct.unpack("<Q", self.recv(req))[0]

    def set_u64(self, req, value, ack=False):
        self.send(req, struct.pack("<Q", value), flags=NEED_REPLY if ack else 0)
        if ack:
            return struct.unpack("<Q", self.recv(req))[0]
        return None

    def close(self):
        self.s.close()


def mem_table(regions):
    """SET_MEM_TABLE payload from (gpa, size, mmap_offset) tuples."""
    body = struct.pack("<II", len(regions), 0)
    for gpa, size, offset in regions:
        body += struct.pack("<QQQQ", gpa, size, UADDR + gpa, offset)
    return body


INFLIGHT_HDR = 16       # features, version, desc_num, last_inflight_io, used_idx
INFLIGHT_DESC = 16      # inflight, padding[5], next, counter


class BlkQueue:
    """A connected front-end with queue 0 of size qsize started.  With
    inflight=True it negotiates INFLIGHT_SHMFD and asks the back-end for
    the inflight region; resume=an earlier BlkQueue (whose back-end
    died) reconnects with its guest RAM, ring and inflight region, as a
    front-end does after a back-end crash: the vring base is the used
    index, and requests left in flight are the back-end's to resubmit."""

    def __init__(self, path, mem_size=1 << 20, qsize=16, features=0,
                 inflight=False, resume=None, queues=1, packed=False, reset=False):
        """reset (with resume): the guest reset the device while its back-end
        was dead: same guest RAM, but the rings start over and the inflight
        region is a new one, as QEMU does on a reset."""
        self.v = VhostUser(path)
        if resume:
            mem_size, qsize, inflight = resume.mem_size, resume.qsize, resume.inflight
            packed = resume.packed
        self.packed = packed
        if packed:
            features |= F_RING_PACKED
        self.qsize = qsize
        self.queues = queues
        self.cur = 0            # the queue the methods below drive
        self.inflight = inflight
        self.offered = self.v.get_u64(GET_FEATURES)
        self.v.set_u64(SET_FEATURES, F_VERSION_1 | F_PROTOCOL_FEATURES | features)
        self.v.get_u64(GET_PROTOCOL_FEATURES)
        self.v.set_u64(SET_PROTOCOL_FEATURES, PF_REPLY_ACK | PF_CONFIG |
                       (PF_INFLIGHT if inflight else 0))
        self.v.send(SET_OWNER)
        if resume:
            self.fd, self.mem, self.rings = resume.fd, resume.mem, resume.rings
            self.infl_fd, self.infl, self.infl_size = (resume.infl_fd, resume.infl,
                                                       resume.infl_size)
            self.next_data = resume.next_data
            self.data_start = resume.data_start
            self.queues = resume.queues
            resume.owned = False
            if reset:
                self._reset_rings()
                self.infl.close()
                os.close(self.infl_fd)
                self.infl = None
                self._get_inflight(qsize)
        else:
            self.fd = os.memfd_create("guest-ram")
            os.ftruncate(self.fd, mem_size)
            self.mem = mmap.mmap(self.fd, mem_size)
            self.rings = [{"kick": os.eventfd(0, os.EFD_NONBLOCK),
                           "call": os.eventfd(0, os.EFD_NONBLOCK),
                           "avail_idx": 0, "used_seen": 0, "next_desc": 0,
                           # packed: wrap counters, chain length by id
                           "avail_wrap": 1, "used_wrap": 1, "ids": {}}
                          for _ in range(queues)]
            self.data_start = self.next_data = DATA + RING_STRIDE * (queues - 1)
            self.infl_fd = None
            self.infl = None
            if inflight:
                self._get_inflight(qsize)
        self.owned = True
        self.mem_size = mem_size
        # The call fd first: it makes librte_vhost allocate the queue,
        # which SET_INFLIGHT_FD needs to attach the region to (QEMU
        # sends it at connect time too).
        for i, r in enumerate(self.rings):
            self.v.send(SET_VRING_CALL, struct.pack("<Q", i), fds=[r["call"]])
        if inflight:
            self.v.send(SET_INFLIGHT_FD, struct.pack("<QQHH4x", self.infl_size, 0, 1,
                                                     qsize), fds=[self.infl_fd])
        self.v.send(SET_MEM_TABLE, mem_table([(0, mem_size, 0)]),
                    fds=[self.fd], flags=NEED_REPLY)
        if struct.unpack("<Q", self.v.recv(SET_MEM_TABLE))[0]:
            raise RuntimeError("SET_MEM_TABLE refused")
        for i, r in enumerate(self.rings):
            off = RING_STRIDE * i
            base = struct.unpack_from("<H", self.mem, off + USED + 2)[0] if resume else 0
            if reset:
                base = 0
            self.v.send(SET_VRING_NUM, struct.pack("<II", i, qsize))
            self.v.send(SET_VRING_ADDR, struct.pack(
                "<IIQQQQ", i, 0, UADDR + off + DESC, UADDR + off + USED,
                UADDR + off + AVAIL, 0))
            if packed:
                base = 0x8000       # position 0, wrap counter 1
            self.v.send(SET_VRING_BASE, struct.pack("<II", i, base))
            self.v.send(SET_VRING_KICK, struct.pack("<Q", i), fds=[r["kick"]])
            self.v.send(SET_VRING_ENABLE, struct.pack("<II", i, 1),
                        flags=NEED_REPLY)
            self.v.recv(SET_VRING_ENABLE)

    def _get_inflight(self, qsize):
        self.v.send(GET_INFLIGHT_FD, struct.pack("<QQHH4x", 0, 0, 1, qsize))
        body, fds = self.v.recv_fds(GET_INFLIGHT_FD)
        self.infl_size, _ = struct.unpack_from("<QQ", body)
        self.infl_fd = fds[0]
        self.infl = mmap.mmap(self.infl_fd, self.infl_size)

    def _reset_rings(self):
        """Every queue back to its initial state (a device reset)."""
        for i, r in enumerate(self.rings):
            off = RING_STRIDE * i
            self.mem[off:off + RING_STRIDE] = bytes(RING_STRIDE)
            r.update({"avail_idx": 0, "used_seen": 0, "next_desc": 0,
                      "avail_wrap": 1, "used_wrap": 1, "ids": {}})

    def reset_queue(self):
        """A device reset on a live connection: stop the queue
        (GET_VRING_BASE, which returns once the back-end finished what it
        took), then restart it from scratch, keeping the inflight region.
        Returns what GET_VRING_BASE said."""
        i = self.cur
        self.v.send(GET_VRING_BASE, struct.pack("<II", i, 0))
        _, base = struct.unpack("<II", self.v.recv(GET_VRING_BASE))
        self._reset_rings()
        # Everything a start needs again, as QEMU sends it: librte_vhost
        # forgets the ring addresses at GET_VRING_BASE.
        off = self.roff
        self.v.send(SET_VRING_NUM, struct.pack("<II", i, self.qsize))
        self.v.send(SET_VRING_ADDR, struct.pack(
            "<IIQQQQ", i, 0, UADDR + off + DESC, UADDR + off + USED,
            UADDR + off + AVAIL, 0))
        self.v.send(SET_VRING_BASE, struct.pack("<II", i, 0x8000 if self.packed else 0))
        self.v.send(SET_VRING_CALL, struct.pack("<Q", i), fds=[self.call])
        self.v.send(SET_VRING_KICK, struct.pack("<Q", i), fds=[self.kick])
        self.v.send(SET_VRING_ENABLE, struct.pack("<II", i, 1), flags=NEED_REPLY)
        self.v.recv(SET_VRING_ENABLE)
        return base

    # ---- the current queue's state ---------------------------------------
    def _ring(self, key):
        return self.rings[self.cur][key]

    def _set(self, key, value):
        self.rings[self.cur][key] = value

    kick = property(lambda self: self._ring("kick"))
    call = property(lambda self: self._ring("call"))
    avail_idx = property(lambda self: self._ring("avail_idx"),
                         lambda self, v: self._set("avail_idx", v))
    used_seen = property(lambda self: self._ring("used_seen"),
                         lambda self, v: self._set("used_seen", v))
    next_desc = property(lambda self: self._ring("next_desc"),
                         lambda self, v: self._set("next_desc", v))

    @property
    def roff(self):
        """Offset of the current queue's rings in guest RAM."""
        return RING_STRIDE * self.cur

    # ---- the inflight region (split, queue 0) ----------------------------
    def inflight_version(self):
        return struct.unpack_from("<H", self.infl, 8)[0]

    def inflight_desc(self, i):
        """(inflight, counter) of descriptor i."""
        off = INFLIGHT_HDR + INFLIGHT_DESC * i
        return self.infl[off], struct.unpack_from("<Q", self.infl, off + 8)[0]

    def mark_inflight(self, i, counter):
        """Record head i as taken and not completed, as a back-end does."""
        off = INFLIGHT_HDR + INFLIGHT_DESC * i
        struct.pack_into("<Q", self.infl, off + 8, counter)
        self.infl[off] = 1

    # ---- the packed inflight region (queue 0), as librte_vhost keeps it --
    # Header: features, version, desc_num, free_head, old_free_head,
    # used_idx, old_used_idx, used_wrap, old_used_wrap; then one 32-byte
    # entry per descriptor: inflight, next, last, num, counter, and a
    # copy of a ring descriptor (id, flags, len, addr).
    PK_HDR = "<QHHHHHHBB"
    PK_DESC = 32

    def packed_region(self):
        """The header as a dict."""
        v = struct.unpack_from(self.PK_HDR, self.infl, 0)
        keys = ("features", "version", "desc_num", "free_head", "old_free_head",
                "used_idx", "old_used_idx", "used_wrap", "old_used_wrap")
        return dict(zip(keys, v))

    def _pk_set(self, **kw):
        offs = {"free_head": 12, "old_free_head": 14, "used_idx": 16,
                "old_used_idx": 18}
        for k, val in kw.items():
            if k in offs:
                struct.pack_into("<H", self.infl, offs[k], val)
            else:
                self.infl[20 if k == "used_wrap" else 21] = val

    def _pk_entry(self, e):
        off = 32 + self.PK_DESC * e
        infl, nxt, last, num, counter, ident, flags, length, addr = struct.unpack_from(
            "<B1xHHHQHHIQ", self.infl, off)
        return {"inflight": infl, "next": nxt, "last": last, "num": num,
                "counter": counter, "id": ident, "flags": flags, "len": length,
                "addr": addr}

    def _pk_put(self, e, **kw):
        d = self._pk_entry(e)
        d.update(kw)
        struct.pack_into("<B1xHHHQHHIQ", self.infl, 32 + self.PK_DESC * e,
                         d["inflight"], d["next"], d["last"], d["num"], d["counter"],
                         d["id"], d["flags"], d["len"], d["addr"])

    def packed_inflight_heads(self):
        return [e for e in range(self.qsize) if self._pk_entry(e)["inflight"]]

    def packed_take(self, pos, ndesc, counter, torn=False):
        """Record the chain of ndesc ring descriptors at pos as taken, as
        rte_vhost_set_inflight_desc_packed does; torn: die after its first
        copy.  Returns the head entry."""
        h = self.packed_region()
        e = free = h["old_free_head"]
        self._pk_put(e, num=0, counter=counter, inflight=1)
        for k in range(ndesc):
            addr, length, ident, flags = struct.unpack_from(
                "<QIHH", self.mem, self.roff + DESC + 16 * ((pos + k) % self.qsize))
            self._pk_put(e, num=self._pk_entry(e)["num"] + 1)
            self._pk_put(free, addr=addr, len=length, id=ident, flags=flags)
            self._pk_put(e, last=free)
            free = self._pk_entry(free)["next"]
            self._pk_set(free_head=free)
            if torn:
                return e
        self._pk_set(old_free_head=free)
        return e

    def packed_complete(self, e, length, ring=True, clear=True):
        """Complete head entry e as a back-end does: set_last (free list,
        used position), the used descriptor into the ring, clr (commit);
        ring/clear False: die before that step."""
        h = self.packed_region()
        pos, wrap = h["used_idx"], h["used_wrap"]
        ent = self._pk_entry(e)
        self._pk_put(ent["last"], next=h["free_head"])
        used, uwrap = pos + ent["num"], wrap
        if used >= self.qsize:
            used, uwrap = used - self.qsize, wrap ^ 1
        self._pk_set(free_head=e, used_idx=used, used_wrap=uwrap)
        if not ring:
            return
        ident = self._pk_entry(ent["last"])["id"]
        off = self.roff + DESC + 16 * pos
        struct.pack_into("<IH", self.mem, off + 8, length, ident)
        struct.pack_into("<H", self.mem, off + 14,
                         (PACKED_AVAIL | PACKED_USED) if wrap else 0)
        if not clear:
            return
        self._pk_put(e, inflight=0)
        self._pk_set(old_free_head=e, old_used_idx=used, old_used_wrap=uwrap)

    def packed_avail_pos(self):
        """Where the driver will put its next chain."""
        return self.rings[self.cur]["next_desc"]

    # ---- guest memory ----------------------------------------------------
    def alloc(self, size, fill=b""):
        addr = self.next_data
        self.next_data = (self.next_data + size + 63) & ~63
        if self.next_data > self.mem_size:
            self.next_data = self.data_start
            return self.alloc(size, fill)
        self.mem[addr:addr + size] = (fill * size)[:size] if fill else bytes(size)
        return addr

    def write(self, addr, data):
        self.mem[addr:addr + len(data)] = data

    def read(self, addr, size):
        return bytes(self.mem[addr:addr + size])

    # ---- the ring --------------------------------------------------------
    def put_desc(self, i, addr, length, flags, nxt=0):
        struct.pack_into("<QIHH", self.mem, self.roff + DESC + 16 * i, addr, length,
                         flags, nxt)

    def submit_chain(self, bufs, head=None, kick=True):
        """bufs: (addr, len, flags) chained in order with NEXT; returns the head
        (packed: the buffer id)."""
        if self.packed:
            return self._submit_packed(bufs, kick)
        head = self.next_desc if head is None else head
        n = len(bufs)
        for k, (addr, length, flags) in enumerate(bufs):
            i = (head + k) % self.qsize
            nxt = (head + k + 1) % self.qsize
            self.put_desc(i, addr, length, flags | (DESC_NEXT if k + 1 < n else 0), nxt)
        self.next_desc = (head + n) % self.qsize
        self.publish(head, kick)
        return head

    def publish(self, head, kick=True):
        avail = self.roff + AVAIL
        struct.pack_into("<H", self.mem, avail + 4 + 2 * (self.avail_idx % self.qsize), head)
        self.avail_idx = (self.avail_idx + 1) & 0xFFFF
        store16(self.mem, avail + 2, self.avail_idx)
        if kick:
            os.eventfd_write(self.kick, 1)

    def _submit_packed(self, bufs, kick):
        r = self.rings[self.cur]
        ident = next(i for i in range(self.qsize) if i not in r["ids"])
        pos, wrap = r["next_desc"], r["avail_wrap"]
        bits = PACKED_AVAIL if wrap else PACKED_USED
        head_pos, head_bits = pos, None
        for k, (addr, length, flags) in enumerate(bufs):
            f = flags | (DESC_NEXT if k + 1 < len(bufs) else 0)
            off = self.roff + DESC + 16 * pos
            struct.pack_into("<QII", self.mem, off, addr, length, ident)
            if k == 0:
                head_bits = f | bits
            else:
                struct.pack_into("<H", self.mem, off + 14, f | bits)
            pos += 1
            if pos == self.qsize:
                pos, wrap = 0, wrap ^ 1
                bits = PACKED_AVAIL if wrap else PACKED_USED
        # The head's flags last: they make the whole chain available.
        store16(self.mem, self.roff + DESC + 16 * head_pos + 14, head_bits)
        r["next_desc"], r["avail_wrap"] = pos, wrap
        r["ids"][ident] = len(bufs)
        if kick:
            os.eventfd_write(self.kick, 1)
        return ident

    def _used_packed(self):
        r = self.rings[self.cur]
        off = self.roff + DESC + 16 * r["used_seen"]
        # The flags first: the back-end stores them last, so id and len
        # read after them are the used descriptor's, not what was there.
        flags = load16(self.mem, off + 14)
        w = r["used_wrap"]
        if bool(flags & PACKED_AVAIL) != bool(w) or bool(flags & PACKED_USED) != bool(w):
            return None
        length, ident = struct.unpack_from("<IH", self.mem, off + 8)
        n = r["ids"].pop(ident, 1)
        pos = r["used_seen"] + n
        if pos >= self.qsize:
            pos -= self.qsize
            r["used_wrap"] ^= 1
        r["used_seen"] = pos
        return ident, length

    def wait_used(self, timeout=10.0):
        """The next used element as (id, len), or None on time-out
        (timeout 0: just look)."""
        deadline = time.monotonic() + timeout
        while self.packed:
            e = self._used_packed()
            if e is not None:
                return e
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.0002)
        while True:
            used = self.roff + USED
            idx = load16(self.mem, used + 2)
            if idx != self.used_seen:
                off = used + 4 + 8 * (self.used_seen % self.qsize)
                self.used_seen = (self.used_seen + 1) & 0xFFFF
                return struct.unpack_from("<II", self.mem, off)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.0002)

    def ring_state(self):
        """The current split queue as the device left it, for a failure
        message: what the driver made available and what came back."""
        if self.packed:
            return (f"packed: next avail {self.next_desc} wrap {self._ring('avail_wrap')}, "
                    f"used seen {self.used_seen} wrap {self._ring('used_wrap')}")
        avail, used = self.roff + AVAIL, self.roff + USED
        aflags, aidx = struct.unpack_from("<HH", self.mem, avail)
        uflags, uidx = struct.unpack_from("<HH", self.mem, used)
        return (f"avail idx {aidx} flags {aflags:#x}, used idx {uidx} flags "
                f"{uflags:#x}, used seen {self.used_seen}")

    def request(self, rtype, sector, data=None, data_len=0, write_data=False,
                status_flags=DESC_WRITE, hdr_addr=None):
        """One virtio-blk request: header, optional data, status byte.
        Returns (used element or None, status byte, data address)."""
        hdr = self.alloc(16) if hdr_addr is None else hdr_addr
        if hdr_addr is None:
            self.write(hdr, struct.pack("<IIQ", rtype, 0, sector))
        bufs = [(hdr, 16, 0)]
        daddr = None
        if data is not None or data_len:
            size = len(data) if data is not None else data_len
            daddr = self.alloc(size)
            if data is not None:
                self.write(daddr, data)
            bufs.append((daddr, size, 0 if write_data else DESC_WRITE))
        st = self.alloc(1)
        self.write(st, b"\xee")
        bufs.append((st, 1, status_flags))
        self.submit_chain(bufs)
        used = self.wait_used()
        return used, self.read(st, 1)[0], daddr

    def hangup(self):
        """Close the socket only: guest RAM and rings stay for resume=."""
        self.v.close()

    def close(self):
        """Hang up; the guest RAM stays unless nothing resumed from it."""
        self.v.close()
        if not self.owned:
            return
        self.mem.close()
        os.close(self.fd)
        for r in self.rings:
            os.close(r["kick"])
            os.close(r["call"])
        if self.infl is not None:
            self.infl.close()
            os.close(self.infl_fd)

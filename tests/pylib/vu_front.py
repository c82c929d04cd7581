# SPDX-License-Identifier: GPL-2.0-only
"""A minimal vhost-user front-end in Python for driving a blk back-end
from a test: negotiation, a memfd as "guest RAM", one split virtqueue
that the test fills with arbitrary (also hostile) descriptor chains,
and a polled used ring.  Wire layouts follow protocol/vhost_user.h."""

import mmap
import os
import socket
import struct
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
                 inflight=False, resume=None, queues=1, packed=False):
        self.v = VhostUser(path)
        self.packed = packed
        if packed:
            features |= F_RING_PACKED
        if resume:
            mem_size, qsize, inflight = resume.mem_size, resume.qsize, resume.inflight
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
                self.v.send(GET_INFLIGHT_FD, struct.pack("<QQHH4x", 0, 0, 1, qsize))
                body, fds = self.v.recv_fds(GET_INFLIGHT_FD)
                self.infl_size, _ = struct.unpack_from("<QQ", body)
                self.infl_fd = fds[0]
                self.infl = mmap.mmap(self.infl_fd, self.infl_size)
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
        struct.pack_into("<H", self.mem, avail + 2, self.avail_idx)
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
        struct.pack_into("<H", self.mem, self.roff + DESC + 16 * head_pos + 14,
                         head_bits)
        r["next_desc"], r["avail_wrap"] = pos, wrap
        r["ids"][ident] = len(bufs)
        if kick:
            os.eventfd_write(self.kick, 1)
        return ident

    def _used_packed(self):
        r = self.rings[self.cur]
        off = self.roff + DESC + 16 * r["used_seen"]
        _, length, ident, flags = struct.unpack_from("<QIHH", self.mem, off)
        w = r["used_wrap"]
        if bool(flags & PACKED_AVAIL) != bool(w) or bool(flags & PACKED_USED) != bool(w):
            return None
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
            idx = struct.unpack_from("<H", self.mem, used + 2)[0]
            if idx != self.used_seen:
                off = used + 4 + 8 * (self.used_seen % self.qsize)
                self.used_seen = (self.used_seen + 1) & 0xFFFF
                return struct.unpack_from("<II", self.mem, off)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.0002)

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

# SPDX-License-Identifier: GPL-2.0-only
"""A small vhost-user-blk back-end in Python that can misbehave on purpose,
to check that a front-end (splitvm-drive) reports a broken back-end as an
error instead of crashing or hanging.

Per connection: negotiation (VERSION_1, PROTOCOL_FEATURES, FLUSH,
RING_PACKED and the CONFIG protocol feature; no REPLY_ACK, no event
index), the memory table (maps the memfds it receives), split or packed
vrings with kick and call eventfds, and IN/OUT/FLUSH/GET_ID on an in-memory disk, with the descriptor
layout, loops and sector ranges checked as a careful back-end would
(a refused chain is put in the used ring with length 0 and no status).
After `after` good requests it breaks the protocol in the way `fault`
names (FAULTS).  It serves one connection after another until killed.

It offers INFLIGHT_SHMFD: heads it took are marked in the inflight
buffer until their completion is published, so a restarted fake (killed
with -9, started again on the same socket and disk file) finishes them
before it takes anything new.

Run as a program: fake_vhost_blk.py SOCKET FAULT [AFTER [SECTORS [DISKFILE]]].
The wire layouts are protocol/vhost_user.h's and <linux/virtio_ring.h>'s,
restated here because Python cannot include them.
"""

import array
import mmap
import os
import select
import socket
import struct
import sys

FAULTS = {
    "none": "serve correctly",
    "hold": "serve correctly, but keep the last request of every batch "
            "taken and unanswered until the next wake-up (at most 10 ms): "
            "a kill -9 always finds one in flight",
    "id_range": "complete with a used id beyond the queue size",
    "len": "complete with a used len larger than the chain can take",
    "duplicate": "complete an earlier request again instead of this one",
    "no_status": "complete without writing the status byte",
    "idx_jump": "move used idx far beyond what was in flight",
    "stall": "stop completing requests",
    "hangup": "close the connection",
}

# vhost-user requests (protocol/vhost_user.h)
GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE = 1, 2, 3, 4, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM = 15, 16, 17
SET_VRING_ENABLE, GET_CONFIG = 18, 24
GET_INFLIGHT_FD, SET_INFLIGHT_FD = 31, 32
FLAG_VERSION, FLAG_REPLY, FLAG_NEED_REPLY = 0x1, 0x4, 0x8
NOFD = 1 << 8

F_VERSION_1 = 1 << 32
F_PROTOCOL_FEATURES = 1 << 30
F_BLK_FLUSH = 1 << 9
F_RING_PACKED = 1 << 34
PK_AVAIL, PK_USED = 1 << 7, 1 << 15     # packed descriptor flags
PK_EVENT_DISABLE = 1
PF_CONFIG = 1 << 9
PF_INFLIGHT_SHMFD = 1 << 12

# The inflight buffer's layout is the back-end's own business (the
# front-end only keeps the fd): per queue a header {used_idx u16,
# last_head u16, pad u32, counter u64} and a u64 per descriptor, the
# order in which it was taken (0: not in flight).
INFL_HDR = 16

DESC_F_NEXT, DESC_F_WRITE = 1, 2
AVAIL_F_NO_INTERRUPT = 1
T_IN, T_OUT, T_FLUSH, T_GET_ID = 0, 1, 4, 8
S_OK, S_IOERR, S_UNSUPP = 0, 1, 2


class Queue:
    def __init__(self):
        self.num = 0
        self.desc = self.avail = self.used = None
        self.kick = self.call = None
        self.last_avail = 0
        self.used_idx = 0
        self.resubmit = None    # heads to finish first after a restart
        self.held = None        # "hold": (head, chain) taken, not answered
        self.avail_wrap = self.used_wrap = True     # packed rings


class Backend:
    def __init__(self, conn, fault, after, disk):
        self.conn = conn
        self.fault = fault
        self.after = after
        self.disk = disk
        self.sectors = len(disk) // 512
        self.regions = []  # (gpa, size, uaddr, mmap)
        self.queues = {}
        self.done = 0
        self.last_head = 0
        self.broken = False
        self.inflight = None
        self.inflight_qsize = 0
        self.features = 0
        self.chain_len = {}     # packed: (queue, buffer id) -> descriptors
        self.resubmitted = 0

    # -- memory --------------------------------------------------------
    def _find(self, addr, length, key):
        for r in self.regions:
            base = r[key]
            if base <= addr and addr + length <= base + r["size"]:
                return r["map"], addr - base
        raise ValueError(f"address {addr:#x}+{length} not in guest memory")

    def gpa(self, addr, length):
        return self._find(addr, length, "gpa")

    def uva(self, addr, length):
        return self._find(addr, length, "uaddr")

    # -- socket --------------------------------------------------------
    def recv_msg(self):
        fds = array.array("i")
        data, anc, _, _ = self.conn.recvmsg(12, socket.CMSG_SPACE(8 * 4))
        if len(data) < 12:
            return None
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds.frombytes(cdata[:len(cdata) - len(cdata) % fds.itemsize])
        req, flags, size = struct.unpack("<III", data)
        payload = b""
        while len(payload) < size:
            chunk = self.conn.recv(size - len(payload))
            if not chunk:
                return None
            payload += chunk
        return req, flags, payload, list(fds)

    def reply(self, req, payload):
        self.conn.sendall(struct.pack("<III", req, FLAG_VERSION | FLAG_REPLY,
                                      len(payload)) + payload)

    def handle(self, req, flags, p, fds):
        if req == GET_FEATURES:
            self.reply(req, struct.pack("<Q", F_VERSION_1 | F_PROTOCOL_FEATURES |
                                        F_BLK_FLUSH | F_RING_PACKED))
        elif req == SET_FEATURES:
            self.features, = struct.unpack_from("<Q", p)
        elif req == GET_PROTOCOL_FEATURES:
            self.reply(req, struct.pack("<Q", PF_CONFIG | PF_INFLIGHT_SHMFD))
        elif req == GET_INFLIGHT_FD:
            _, _, nq, qsize = struct.unpack_from("<QQHH", p)
            size = nq * (INFL_HDR + 8 * qsize)
            fd = os.memfd_create("fake-inflight")
            os.ftruncate(fd, size)
            self.map_inflight(fd, size, qsize)
            self.conn.sendmsg([struct.pack("<III", req, FLAG_VERSION | FLAG_REPLY, 24) +
                               struct.pack("<QQHH4x", size, 0, nq, qsize)],
                              [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                array.array("i", [fd]))])
            os.close(fd)
        elif req == SET_INFLIGHT_FD:
            size, off, nq, qsize = struct.unpack_from("<QQHH", p)
            fd = fds.pop(0)
            self.map_inflight(fd, size, qsize, off)
            os.close(fd)
        elif req == GET_QUEUE_NUM:
            self.reply(req, struct.pack("<Q", 1))
        elif req == GET_CONFIG:
            off, size, cflags = struct.unpack_from("<III", p)
            cfg = bytearray(256)
            struct.pack_into("<Q", cfg, 0, self.sectors)
            self.reply(req, struct.pack("<III", off, size, cflags) +
                       bytes(cfg[off:off + size]))
        elif req == SET_MEM_TABLE:
            n, = struct.unpack_from("<I", p)
            for r in self.regions:
                r["map"].close()
            self.regions = []
            for i in range(n):
                gpa, size, uaddr, off = struct.unpack_from("<QQQQ", p, 8 + 32 * i)
                m = mmap.mmap(fds[i], size, mmap.MAP_SHARED,
                              mmap.PROT_READ | mmap.PROT_WRITE, offset=off)
                self.regions.append({"gpa": gpa, "size": size, "uaddr": uaddr,
                                     "map": m})
            for fd in fds:
                os.close(fd)
            fds = []
        elif req == SET_VRING_NUM:
            idx, num = struct.unpack_from("<II", p)
            self.queues.setdefault(idx, Queue()).num = num
        elif req == SET_VRING_BASE:
            idx, num = struct.unpack_from("<II", p)
            q = self.queues.setdefault(idx, Queue())
            if self.packed():
                q.last_avail, q.avail_wrap = num & 0x7fff, bool(num & 0x8000)
                q.used_idx = (num >> 16) & 0x7fff
                q.used_wrap = bool(num & 0x80000000)
            else:
                q.last_avail = q.used_idx = num
        elif req == SET_VRING_ADDR:
            idx, _, desc, used, avail, _ = struct.unpack_from("<IIQQQQ", p)
            q = self.queues.setdefault(idx, Queue())
            q.desc, q.used, q.avail = desc, used, avail
        elif req in (SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR):
            v, = struct.unpack_from("<Q", p)
            q = self.queues.setdefault(v & 0xff, Queue())
            fd = None if v & NOFD else fds.pop(0)
            if req == SET_VRING_KICK:
                q.kick = fd
                self.check_inflight(v & 0xff, q)
            elif req == SET_VRING_CALL:
                q.call = fd
            elif fd is not None:
                os.close(fd)
        elif req == GET_VRING_BASE:
            idx, _ = struct.unpack_from("<II", p)
            q = self.queues.get(idx, Queue())
            self.reply(req, struct.pack("<II", idx, q.last_avail & 0xffff))
        # SET_FEATURES, SET_OWNER, SET_PROTOCOL_FEATURES, SET_VRING_ENABLE:
        # nothing to do (no REPLY_ACK offered, so no ack either).
        for fd in fds:
            os.close(fd)

    # -- inflight tracking (a restart finishes what a crash left) -------
    def map_inflight(self, fd, size, qsize, off=0):
        self.inflight = mmap.mmap(fd, size, mmap.MAP_SHARED,
                                  mmap.PROT_READ | mmap.PROT_WRITE, offset=off)
        self.inflight_qsize = qsize

    def infl(self, qidx):
        return qidx * (INFL_HDR + 8 * self.inflight_qsize)

    def mark(self, qidx, head):
        if self.inflight is None:
            return
        base = self.infl(qidx)
        counter, = struct.unpack_from("<Q", self.inflight, base + 8)
        struct.pack_into("<Q", self.inflight, base + 8, counter + 1)
        struct.pack_into("<Q", self.inflight, base + INFL_HDR + 8 * head, counter + 1)

    def check_inflight(self, qidx, q):
        """At SET_VRING_KICK after a restart: every head still marked was
        taken and not completed; the avail ring resumes after them."""
        if self.inflight is None or q.used is None:
            return
        base = self.infl(qidx)
        used_idx = self.u16(q, q.used, 2)
        rec_used, last_head = struct.unpack_from("<HH", self.inflight, base)
        if rec_used != used_idx:
            # Died between publishing a completion and clearing its mark.
            struct.pack_into("<Q", self.inflight, base + INFL_HDR + 8 * last_head, 0)
            struct.pack_into("<H", self.inflight, base, used_idx)
        marks = []
        for head in range(q.num):
            c, = struct.unpack_from("<Q", self.inflight, base + INFL_HDR + 8 * head)
            if c:
                marks.append((c, head))
        q.resubmit = [h for _, h in sorted(marks)]
        if q.resubmit:
            print(f"fake_vhost_blk: resubmitting {len(q.resubmit)} requests "
                  f"of queue {qidx}", file=sys.stderr, flush=True)
        q.used_idx = used_idx
        q.last_avail = (used_idx + len(q.resubmit)) & 0xffff
        self.resubmitted += len(q.resubmit)

    # -- the ring ------------------------------------------------------
    def u16(self, q, base, off):
        """One 2-byte load (the driver may store the word right now):
        struct.unpack_from reads it a byte at a time, and an avail index
        going from 0x1ff to 0x200 could read as 0x100."""
        m, o = self.uva(base + off, 2)
        with memoryview(m) as v, v[o:o + 2] as b, b.cast("H") as w:
            return w[0]

    def packed(self):
        return bool(self.features & F_RING_PACKED)

    def push_used_packed(self, q, id_, length):
        """Write the used descriptor at the device's used slot, flags
        last, and skip the slots of the chain it ends."""
        m, o = self.uva(q.desc + 16 * q.used_idx, 16)
        m[o + 8:o + 14] = struct.pack("<IH", length, id_ & 0xffff)
        flags = PK_AVAIL | PK_USED if q.used_wrap else 0
        m[o + 14:o + 16] = struct.pack("<H", flags)
        q.used_idx += self.chain_len.pop((id(q), id_), 1)
        if q.used_idx >= q.num:
            q.used_idx -= q.num
            q.used_wrap = not q.used_wrap

    def push_used(self, q, id_, length, idx_step=1):
        if self.packed():
            return self.push_used_packed(q, id_, length)
        m, o = self.uva(q.used + 4 + 8 * (q.used_idx % q.num), 8)
        m[o:o + 8] = struct.pack("<II", id_, length)
        qidx = next(i for i, x in self.queues.items() if x is q)
        if self.inflight is not None and id_ < q.num:
            struct.pack_into("<H", self.inflight, self.infl(qidx) + 2, id_)
        q.used_idx = (q.used_idx + idx_step) & 0xffff
        m, o = self.uva(q.used + 2, 2)
        # One 2-byte store: struct.pack_into zeroes the field before it
        # writes it, and a driver polling the index sees that 0.
        m[o:o + 2] = struct.pack("<H", q.used_idx)
        if self.inflight is not None and id_ < q.num:
            base = self.infl(qidx)
            struct.pack_into("<Q", self.inflight, base + INFL_HDR + 8 * id_, 0)
            struct.pack_into("<H", self.inflight, base, q.used_idx)

    def release(self, q):
        if q.held is not None:
            head, chain = q.held
            q.held = None
            self.complete(q, head, chain)
            self.notify(q)

    def notify(self, q):
        if q.call is not None:
            if self.packed():
                # Driver event area: {off_wrap, flags}; no event index.
                m, o = self.uva(q.avail + 2, 2)
                quiet = struct.unpack_from("<H", m, o)[0] == PK_EVENT_DISABLE
            else:
                m, o = self.uva(q.avail, 2)
                quiet = struct.unpack_from("<H", m, o)[0] & AVAIL_F_NO_INTERRUPT
            if not quiet:
                os.write(q.call, struct.pack("<Q", 1))

    def pop_packed(self, q):
        """The next available chain of a packed ring: (id, chain) or None."""
        m, o = self.uva(q.desc + 16 * q.last_avail, 16)
        flags, = struct.unpack_from("<H", m, o + 14)
        if bool(flags & PK_AVAIL) != q.avail_wrap or bool(flags & PK_USED) == q.avail_wrap:
            return None
        chain = []
        while True:
            m, o = self.uva(q.desc + 16 * q.last_avail, 16)
            addr, length, bid, flags = struct.unpack_from("<QIHH", m, o)
            chain.append((addr, length, flags))
            q.last_avail += 1
            if q.last_avail == q.num:
                q.last_avail = 0
                q.avail_wrap = not q.avail_wrap
            if not flags & DESC_F_NEXT or len(chain) >= q.num:
                break
        self.chain_len[(id(q), bid)] = len(chain)
        return bid, chain

    def serve(self, q):
        self.release(q)
        if q.kick is not None:
            try:
                os.read(q.kick, 8)
            except BlockingIOError:
                pass
        if self.packed():
            while True:
                got = self.pop_packed(q)
                if got is None:
                    break
                bid, chain = got
                if not self.layout_ok(chain):
                    self.push_used(q, bid, 0)
                elif self.fault == "hold":
                    self.release(q)
                    q.held = (bid, chain)
                else:
                    self.complete(q, bid, chain)
            self.notify(q)
            return
        qidx = next(i for i, x in self.queues.items() if x is q)
        while q.resubmit or self.u16(q, q.avail, 2) != q.last_avail:
            if q.resubmit:
                head = q.resubmit.pop(0)
            else:
                head = self.u16(q, q.avail, 4 + 2 * (q.last_avail % q.num))
                q.last_avail = (q.last_avail + 1) & 0xffff
                if head < q.num:
                    self.mark(qidx, head)
            chain, i, seen, ok = [], head, set(), True
            while True:
                if i >= q.num or i in seen:
                    ok = False          # link out of the table, or a loop
                    break
                seen.add(i)
                m, o = self.uva(q.desc + 16 * i, 16)
                addr, length, flags, nxt = struct.unpack_from("<QIHH", m, o)
                chain.append((addr, length, flags))
                if not flags & DESC_F_NEXT:
                    break
                i = nxt
            if not (ok and self.layout_ok(chain)):
                self.push_used(q, head, 0)      # refused: no status written
            elif self.fault == "hold":
                self.release(q)
                q.held = (head, chain)
            else:
                self.complete(q, head, chain)
        self.notify(q)

    @staticmethod
    def layout_ok(chain):
        """Header readable and whole, status last and writable, readable
        before writable (virtio 1.2 5.2.6)."""
        if len(chain) < 2 or chain[0][2] & DESC_F_WRITE or chain[0][1] != 16:
            return False
        if not chain[-1][2] & DESC_F_WRITE or chain[-1][1] < 1:
            return False
        writable = [bool(f & DESC_F_WRITE) for _, _, f in chain]
        return writable == sorted(writable)

    def complete(self, q, head, chain):
        faulty = self.done >= self.after and self.fault != "none"
        if faulty and self.fault == "stall":
            return
        if faulty and self.fault == "hangup":
            self.broken = True
            return
        hm, ho = self.gpa(chain[0][0], 16)
        typ, _, sector = struct.unpack_from("<IIQ", hm, ho)
        written = 0
        status = S_OK
        pos = sector * 512
        data = chain[1:-1]
        if typ in (T_IN, T_GET_ID) and any(not f & DESC_F_WRITE for _, _, f in data):
            data, status = [], S_IOERR
        if typ == T_OUT and any(f & DESC_F_WRITE for _, _, f in data):
            data, status = [], S_IOERR
        if typ == T_GET_ID:
            for addr, length, flags in data:
                m, o = self.gpa(addr, length)
                ident = b"fake-vhost-blk".ljust(length, b"\0")[:length]
                m[o:o + length] = ident
                written += length
            data = []
        if typ in (T_IN, T_OUT) and pos + sum(ln for _, ln, _ in data) > len(self.disk):
            data, status = [], S_IOERR
        for addr, length, flags in data:
            m, o = self.gpa(addr, length)
            if typ == T_IN:
                m[o:o + length] = self.disk[pos:pos + length]
                written += length
            elif typ == T_OUT:
                self.disk[pos:pos + length] = m[o:o + length]
            pos += length
        if typ not in (T_IN, T_OUT, T_FLUSH, T_GET_ID):
            status = S_UNSUPP
        saddr = chain[-1][0]
        if not (faulty and self.fault == "no_status"):
            m, o = self.gpa(saddr, 1)
            m[o] = status
        written += 1
        self.done += 1
        if not faulty:
            self.push_used(q, head, written)
            self.last_head = head
        elif self.fault == "id_range":
            self.push_used(q, q.num + 7, written)
        elif self.fault == "len":
            self.push_used(q, head, written + (1 << 20))
        elif self.fault == "duplicate":
            self.push_used(q, self.last_head, written)
        elif self.fault == "idx_jump":
            self.push_used(q, head, written, idx_step=1000)
        else:
            self.push_used(q, head, written)

    def run(self):
        while not self.broken:
            kicks = {q.kick: q for q in self.queues.values() if q.kick is not None}
            held = [q for q in self.queues.values() if q.held is not None]
            r, _, _ = select.select([self.conn] + list(kicks), [], [],
                                    0.01 if held else 1.0)
            if not r:
                for q in held:
                    self.release(q)
            if self.conn in r:
                msg = self.recv_msg()
                if msg is None:
                    return
                self.handle(*msg)
            for fd in r:
                if fd in kicks:
                    self.serve(kicks[fd])
        self.conn.close()


def main(argv):
    path, fault = argv[1], argv[2]
    after = int(argv[3]) if len(argv) > 3 else 10
    sectors = int(argv[4]) if len(argv) > 4 else 2048
    if fault not in FAULTS:
        sys.exit(f"unknown fault {fault}; one of {', '.join(FAULTS)}")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)         # a restart after kill -9
    srv.bind(path)
    srv.listen(1)
    if len(argv) > 5:
        # A file, so that what was written survives a kill -9.
        fd = os.open(argv[5], os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(fd, sectors * 512)
        disk = mmap.mmap(fd, sectors * 512, mmap.MAP_SHARED,
                         mmap.PROT_READ | mmap.PROT_WRITE)
        os.close(fd)
    else:
        disk = bytearray(sectors * 512)
    # One connection at a time, as long as it runs (the same disk).
    while True:
        conn, _ = srv.accept()
        try:
            Backend(conn, fault, after, disk).run()
        except (BrokenPipeError, ConnectionResetError):
            pass
        conn.close()


if __name__ == "__main__":
    main(sys.argv)

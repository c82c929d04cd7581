# SPDX-License-Identifier: GPL-2.0-only
"""A vhost-user net front-end for tests, on vu_front's messages: one queue
pair on split rings (receive ring 0, transmit ring 1), the features the
test asks for (offloads among them), frames sent with any virtio-net
header, frames received with their header parsed; and the frames'
own checksums and TCP segments checked the way a guest would."""

import mmap
import os
import struct
import time

from vu_front import (AVAIL, DESC, GET_FEATURES, RING_STRIDE, SET_FEATURES,
                      SET_MEM_TABLE, SET_OWNER, SET_VRING_ADDR,
                      SET_VRING_BASE, SET_VRING_CALL, SET_VRING_KICK,
                      SET_VRING_NUM, UADDR, USED, F_VERSION_1, DESC_WRITE,
                      VhostUser, load16, mem_table, store16)

# virtio-net feature bits (virtio 1.2, 5.1.3)
F_CSUM, F_GUEST_CSUM, F_GUEST_TSO4, F_GUEST_TSO6 = 1 << 0, 1 << 1, 1 << 7, 1 << 8
F_HOST_TSO4, F_HOST_TSO6, F_MRG_RXBUF = 1 << 11, 1 << 12, 1 << 15
F_OFFLOADS = (F_CSUM | F_GUEST_CSUM | F_GUEST_TSO4 | F_GUEST_TSO6 |
              F_HOST_TSO4 | F_HOST_TSO6)
# header flags and GSO types (5.1.6)
HDR_F_NEEDS_CSUM = 1
GSO_NONE, GSO_TCPV4, GSO_UDP, GSO_TCPV6 = 0, 1, 3, 4
HDR = struct.Struct("<BBHHHHH")     # flags gso_type hdr_len gso_size
                                    # csum_start csum_offset num_buffers
RX, TX = 0, 1
DATA = 2 * RING_STRIDE


class NetFront:
    """Connected and started. rxbuf: bytes per receive buffer (header
    included); a port taking TSO frames without mergeable buffers posts
    65562 at least (virtio 1.2, 5.1.6.3)."""

    def __init__(self, path, features=0, qsize=256, rxbuf=2048, nrx=64,
                 mem_size=16 << 20):
        self.v = VhostUser(path)
        self.offered = self.v.get_u64(GET_FEATURES)
        self.features = F_VERSION_1 | (features & self.offered)
        self.v.set_u64(SET_FEATURES, self.features)
        self.v.send(SET_OWNER)
        self.qsize, self.rxbuf, self.nrx = qsize, rxbuf, nrx
        self.fd = os.memfd_create("net-guest-ram")
        os.ftruncate(self.fd, mem_size)
        self.mem = mmap.mmap(self.fd, mem_size)
        self.mem_size = mem_size
        self.kick = [os.eventfd(0, os.EFD_NONBLOCK) for _ in range(2)]
        self.call = [os.eventfd(0, os.EFD_NONBLOCK) for _ in range(2)]
        self.avail_idx = [0, 0]
        self.used_seen = [0, 0]
        self.rx_base = DATA
        self.tx_base = (DATA + nrx * rxbuf + 4095) & ~4095
        self.tx_slot = 0
        self.tx_slot_size = 70000
        self.tx_slots = (mem_size - self.tx_base) // self.tx_slot_size
        self.v.send(SET_MEM_TABLE, mem_table([(0, mem_size, 0)]),
                    fds=[self.fd])
        for i in range(2):
            off = RING_STRIDE * i
            self.v.send(SET_VRING_CALL, struct.pack("<Q", i), fds=[self.call[i]])
            self.v.send(SET_VRING_NUM, struct.pack("<II", i, qsize))
            self.v.send(SET_VRING_ADDR, struct.pack(
                "<IIQQQQ", i, 0, UADDR + off + DESC, UADDR + off + USED,
                UADDR + off + AVAIL, 0))
            self.v.send(SET_VRING_BASE, struct.pack("<II", i, 0))
        for d in range(nrx):
            self._desc(RX, d, self.rx_base + d * rxbuf, rxbuf, DESC_WRITE)
            self._publish(RX, d, kick=False)
        # Without VHOST_USER_F_PROTOCOL_FEATURES a ring starts enabled
        # with its kick fd: the device is up after the last one.
        for i in range(2):
            self.v.send(SET_VRING_KICK, struct.pack("<Q", i), fds=[self.kick[i]])

    def has(self, bit):
        return bool(self.features & bit)

    def _desc(self, ring, i, addr, length, flags):
        struct.pack_into("<QIHH", self.mem, RING_STRIDE * ring + DESC + 16 * i,
                         addr, length, flags, 0)

    def _publish(self, ring, head, kick=True):
        avail = RING_STRIDE * ring + AVAIL
        idx = self.avail_idx[ring]
        struct.pack_into("<H", self.mem, avail + 4 + 2 * (idx % self.qsize), head)
        self.avail_idx[ring] = (idx + 1) & 0xFFFF
        # One store: struct.pack_into zeroes the index first (vu_front.store16).
        store16(self.mem, avail + 2, self.avail_idx[ring])
        if kick:
            os.eventfd_write(self.kick[ring], 1)

    def _used(self, ring):
        used = RING_STRIDE * ring + USED
        idx = load16(self.mem, used + 2)
        out = []
        while self.used_seen[ring] != idx:
            off = used + 4 + 8 * (self.used_seen[ring] % self.qsize)
            out.append(struct.unpack_from("<II", self.mem, off))
            self.used_seen[ring] = (self.used_seen[ring] + 1) & 0xFFFF
        return out

    def send(self, frame, flags=0, gso_type=GSO_NONE, hdr_len=0, gso_size=0,
             csum_start=0, csum_offset=0):
        """One frame behind the header given, in one descriptor."""
        self._used(TX)      # done with earlier ones; slots are reused in turn
        d = self.tx_slot % min(self.qsize, self.tx_slots)
        self.tx_slot += 1
        addr = self.tx_base + d * self.tx_slot_size
        data = HDR.pack(flags, gso_type, hdr_len, gso_size, csum_start,
                        csum_offset, 0) + frame
        self.mem[addr:addr + len(data)] = data
        self._desc(TX, d, addr, len(data), 0)
        self._publish(TX, d)

    def recv(self, n=None, timeout=5.0, quiet=0.3):
        """[(header dict, frame)]: until n frames came (then a short look
        for more), or nothing came for quiet seconds after the first."""
        got = []
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            used = self._used(RX)
            for ident, length in used:
                addr = self.rx_base + ident * self.rxbuf
                raw = bytes(self.mem[addr:addr + length])
                f = HDR.unpack_from(raw)
                hdr = dict(zip(("flags", "gso_type", "hdr_len", "gso_size",
                                "csum_start", "csum_offset", "num_buffers"), f))
                got.append((hdr, raw[HDR.size:]))
                self._publish(RX, ident, kick=False)
            if used:
                os.eventfd_write(self.kick[RX], 1)
                last = time.monotonic()
            if n is not None and len(got) >= n:
                if not used and time.monotonic() - last > 0.1:
                    break
            elif last is not None and time.monotonic() - last > quiet:
                break
            time.sleep(0.001)
        return got

    def close(self):
        self.v.close()
        self.mem.close()
        os.close(self.fd)
        for fd in self.kick + self.call:
            os.close(fd)


# ---- frames ---------------------------------------------------------------

def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def csum_fold(data, start=0):
    if len(data) & 1:
        data += b"\0"
    s = start + sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def _pseudo(ip, v6, proto, l4len):
    if v6:
        return ip[8:40] + struct.pack("!IxxxB", l4len, proto)
    return ip[12:20] + struct.pack("!xBH", proto, l4len)


def frame(dst, src, v6=False, proto=6, payload=b"", seq=1000, tcp_flags=0x18,
          partial=True, ip_id=0x100, ips=("10.0.0.1", "10.0.0.2")):
    """Ethernet + IPv4 (ips: source, destination)/IPv6 + TCP/UDP.
    partial: the L4 checksum field holds
    the pseudo-header sum, as a guest sending NEEDS_CSUM leaves it;
    else the complete checksum."""
    if proto == 6:
        l4 = struct.pack("!HHIIBBHHH", 40000, 80, seq, 1, 5 << 4, tcp_flags,
                         65535, 0, 0)
    else:
        l4 = struct.pack("!HHHH", 40000, 53, 8 + len(payload), 0)
    l4 += payload
    if v6:
        ip = struct.pack("!IHBB", 6 << 28, len(l4), proto, 64)
        ip += bytes(range(0x20, 0x40))
        etype = 0x86dd
    else:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ip_id, 0x4000,
                         64, proto, 0, *(bytes(int(x) for x in a.split("."))
                                         for a in ips))
        ip = ip[:10] + struct.pack("!H", ~csum_fold(ip) & 0xffff) + ip[12:]
        etype = 0x0800
    ps = csum_fold(_pseudo(ip, v6, proto, len(l4)))
    c = ps if partial else ~csum_fold(l4, ps) & 0xffff
    if proto == 17 and not partial and c == 0:
        c = 0xffff
    at = 16 if proto == 6 else 6
    l4 = l4[:at] + struct.pack("!H", c) + l4[at + 2:]
    return mac(dst) + mac(src) + struct.pack("!H", etype) + ip + l4


def parse(fr):
    """(v6, ip header, proto, l4 bytes) of an untagged IPv4/IPv6 frame."""
    etype = struct.unpack_from("!H", fr, 12)[0]
    if etype == 0x86dd:
        ip = fr[14:54]
        plen = struct.unpack_from("!H", ip, 4)[0]
        return True, ip, ip[6], fr[54:54 + plen]
    ihl = (fr[14] & 0xf) * 4
    ip = fr[14:14 + ihl]
    total = struct.unpack_from("!H", ip, 2)[0]
    return False, ip, ip[9], fr[14 + ihl:14 + total]


def checksums_ok(fr):
    """Both the IPv4 header's and the L4 checksum are complete and right."""
    v6, ip, proto, l4 = parse(fr)
    if not v6 and csum_fold(ip) != 0xffff:
        return False
    return csum_fold(l4, csum_fold(_pseudo(ip, v6, proto, len(l4)))) == 0xffff


def partial_ok(fr):
    """The L4 checksum field holds the pseudo-header sum (NEEDS_CSUM)."""
    v6, ip, proto, l4 = parse(fr)
    at = 16 if proto == 6 else 6
    field = struct.unpack_from("!H", l4, at)[0]
    return field == csum_fold(_pseudo(ip, v6, proto, len(l4)))


def tcp_seq(fr):
    v6, _, _, l4 = parse(fr)
    return struct.unpack_from("!I", l4, 4)[0], l4[13], l4[(l4[12] >> 4) * 4:]

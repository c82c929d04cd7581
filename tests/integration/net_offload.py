#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Checksum and TSO offloads through splitvm-net's switch: port A sends
with every offload, port B negotiated them all, port C none, port D was
started with offload=off. Frames with a partial checksum (NEEDS_CSUM) and
TSO frames reach B with their virtio-net header as sent and C complete
(checksums computed, TSO frames cut into right segments), flooded and
unicast; frames whose offload request does not fit them are dropped and
counted by reason, and the ports go on working (two forwarding threads).
The same through a cross-connect."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import svmtest  # noqa: E402
from vu_net import (F_OFFLOADS, GSO_NONE, GSO_TCPV4, GSO_TCPV6,  # noqa: E402
                    HDR_F_NEEDS_CSUM, NetFront, checksums_ok, csum_fold,
                    frame, parse, partial_ok, tcp_seq)

exe = sys.argv[1]
c = svmtest.Checker("net_offload")
BCAST = "ff:ff:ff:ff:ff:ff"
MA, MB, MC, MD = ("02:00:00:00:00:0a", "02:00:00:00:00:0b",
                  "02:00:00:00:00:0c", "02:00:00:00:00:0d")
CSUM = dict(flags=HDR_F_NEEDS_CSUM, csum_start=34, csum_offset=16)


def queue0(st, port):
    return st["ports"][port]["queues"][0]


def check_partial(got, sent, what, csum_offset=16):
    """One frame, its NEEDS_CSUM header intact, the bytes as sent."""
    if not c.equal(len(got), 1, f"{what}: one frame"):
        return
    h, fr = got[0]
    c.check(h["flags"] == HDR_F_NEEDS_CSUM and h["gso_type"] == GSO_NONE and
            h["csum_start"] == 14 + len(parse(sent)[1]) and
            h["csum_offset"] == csum_offset,
            f"{what}: header NEEDS_CSUM as sent", h)
    c.check(fr == sent and partial_ok(fr),
            f"{what}: bytes as sent, partial checksum left to the receiver")


def check_complete(got, sent, what):
    """One frame, no header flags, the checksum right, else as sent."""
    if not c.equal(len(got), 1, f"{what}: one frame"):
        return
    h, fr = got[0]
    c.check(h["flags"] == 0 and h["gso_type"] == GSO_NONE,
            f"{what}: no offload in the header", h)
    c.check(checksums_ok(fr), f"{what}: checksum complete and right")
    _, ip, proto, _ = parse(fr)
    at = 14 + len(ip) + (16 if proto == 6 else 6)
    c.check(len(fr) == len(sent) and fr[:at] == sent[:at] and
            fr[at + 2:] == sent[at + 2:],
            f"{what}: every other byte as sent")


def check_segments(got, sent, mss, what):
    """TSO frame sent -> the segments a TCP stack would have sent."""
    v6, ip, _, l4 = parse(sent)
    thl = (l4[12] >> 4) * 4
    payload = l4[thl:]
    n = (len(payload) + mss - 1) // mss
    if not c.equal(len(got), n, f"{what}: {n} segments"):
        return
    seq0, flags0, _ = tcp_seq(sent)
    ok_hdr = ok_sum = ok_seq = ok_flags = ok_len = ok_id = True
    data = b""
    for i, (h, fr) in enumerate(got):
        ok_hdr &= h["flags"] == 0 and h["gso_type"] == GSO_NONE
        ok_sum &= checksums_ok(fr)
        seq, fl, pay = tcp_seq(fr)
        ok_seq &= seq == (seq0 + i * mss) & 0xffffffff
        want = flags0 if i == n - 1 else flags0 & ~0x09     # FIN, PSH: last
        ok_flags &= fl == want
        ok_len &= len(pay) == (mss if i < n - 1 else len(payload) - mss * (n - 1))
        ok_len &= len(fr) <= 1514
        if not v6:
            _, sip, _, _ = parse(fr)
            ok_id &= int.from_bytes(sip[4:6], "big") == \
                (int.from_bytes(ip[4:6], "big") + i) & 0xffff
        data += pay
    c.check(ok_hdr, f"{what}: no offload in the segments' headers")
    c.check(ok_sum, f"{what}: every segment's checksums right")
    c.check(ok_seq, f"{what}: sequence numbers advance by the MSS")
    c.check(ok_flags, f"{what}: PSH (and FIN) on the last segment only")
    c.check(ok_len, f"{what}: MSS-sized segments, the rest in the last")
    c.check(ok_id, f"{what}: IPv4 ids count up")
    c.check(data == payload, f"{what}: the payload, in order, complete")


def check_tso_passed(got, sent, gso_type, mss, what):
    if not c.equal(len(got), 1, f"{what}: one frame"):
        return
    h, fr = got[0]
    v6, ip, _, l4 = parse(sent)
    hl = 14 + len(ip) + (l4[12] >> 4) * 4
    c.check(h["flags"] == HDR_F_NEEDS_CSUM and h["gso_type"] == gso_type and
            h["gso_size"] == mss and h["hdr_len"] == hl and
            h["csum_start"] == 14 + len(ip) and h["csum_offset"] == 16,
            f"{what}: header asks for segmentation as sent", h)
    # librte_vhost writes the pseudo-header sum without the length into
    # the checksum field of a TSO frame (DPDK's convention); all else is
    # as sent.
    at = 14 + len(ip) + 16
    c.check(fr[:at] == sent[:at] and fr[at + 2:] == sent[at + 2:],
            f"{what}: the frame as sent (but for the checksum field)")


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    socks = [os.path.join(tmp, f"{n}.sock") for n in "abcd"]
    args = []
    for s, n in zip(socks, "abcd"):
        args += ["--port", s + f",name={n}" + (",offload=off" if n == "d" else "")]
    # Two forwarding threads: the completions happen under the switch's
    # and the receive queues' locks.
    sw = netbe.SplitvmNet(exe, ["--threads", "2"] + args)
    ports = []
    try:
        netbe.wait_paths(socks)
        A = NetFront(socks[0], F_OFFLOADS)
        ports.append(A)
        # Without mergeable buffers a TSO receiver posts 64 KiB buffers.
        B = NetFront(socks[1], F_OFFLOADS, rxbuf=65600, nrx=32)
        ports.append(B)
        C = NetFront(socks[2], 0)
        ports.append(C)
        D = NetFront(socks[3], F_OFFLOADS)
        ports.append(D)
        c.equal(A.features & F_OFFLOADS, F_OFFLOADS,
                "CSUM, GUEST_CSUM, HOST_TSO4/6, GUEST_TSO4/6 offered and taken")
        c.equal(D.offered & F_OFFLOADS, 0, "offload=off: none of them offered")
        st, up = sw.wait_stats(lambda s: all(p["connected"] for p in s["ports"]))
        c.check(up, "four frontends connected")

        # The stations make themselves known (flooded to the others).
        for p, m in ((B, MB), (C, MC), (D, MD)):
            p.send(frame(BCAST, m, payload=b"hello", partial=False))
        for p in ports:
            p.recv(quiet=0.5)

        # 1. A flooded TCP/IPv4 frame with a partial checksum.
        f1 = frame("02:00:00:00:00:99", MA, payload=bytes(range(200)))
        A.send(f1, **CSUM)
        check_partial(B.recv(1), f1, "flooded partial checksum to B (offloads)")
        check_complete(C.recv(1), f1, "flooded partial checksum to C (none)")
        check_complete(D.recv(1), f1, "flooded partial checksum to D (offload=off)")

        # 2. Unicast, UDP over IPv6: completed in place for C.
        f2 = frame(MC, MA, v6=True, proto=17, payload=b"udp" * 111)
        A.send(f2, flags=HDR_F_NEEDS_CSUM, csum_start=54, csum_offset=6)
        check_complete(C.recv(1), f2, "unicast UDP/IPv6 partial checksum to C")
        f2b = frame(MB, MA, v6=True, proto=17, payload=b"udp" * 111)
        A.send(f2b, flags=HDR_F_NEEDS_CSUM, csum_start=54, csum_offset=6)
        check_partial(B.recv(1), f2b, "unicast UDP/IPv6 partial checksum to B",
                      csum_offset=6)

        # 3. A flooded TSO frame, 3 segments of MSS 1000.
        pay = bytes((i * 7) & 0xff for i in range(2900))
        f3 = frame("02:00:00:00:00:98", MA, payload=pay, seq=0xfffffc00,
                   tcp_flags=0x19, ip_id=0xffff)
        A.send(f3, gso_type=GSO_TCPV4, gso_size=1000, hdr_len=54, **CSUM)
        check_tso_passed(B.recv(1), f3, GSO_TCPV4, 1000, "flooded TSO to B")
        check_segments(C.recv(3), f3, 1000, "flooded TSO to C")
        check_segments(D.recv(3), f3, 1000, "flooded TSO to D")

        # 4. Unicast TSO over IPv6, 44 segments of 1440.
        pay6 = os.urandom(1440 * 43 + 77)
        f4 = frame(MC, MA, v6=True, payload=pay6)
        A.send(f4, flags=HDR_F_NEEDS_CSUM, csum_start=54, csum_offset=16,
               gso_type=GSO_TCPV6, gso_size=1440, hdr_len=74)
        check_segments(C.recv(44), f4, 1440, "unicast TCP/IPv6 TSO to C")
        f4b = frame(MB, MA, v6=True, payload=pay6)
        A.send(f4b, flags=HDR_F_NEEDS_CSUM, csum_start=54, csum_offset=16,
               gso_type=GSO_TCPV6, gso_size=1440, hdr_len=74)
        check_tso_passed(B.recv(1), f4b, GSO_TCPV6, 1440, "unicast TSO/IPv6 to B")

        st = sw.stats()
        if not c.check(st is not None, "statistics", sw.proc.returncode):
            raise RuntimeError("splitvm-net gave no statistics")
        a = queue0(st, 0)
        c.equal(a["sw_offload"], 4,
                "A: 4 frames completed in software (flood, unicast C, TSO x2)")
        c.equal(sum(a["drops"].values()), 0, "A: no drops so far")
        for i in (1, 2, 3):
            c.equal(sum(queue0(st, i)["drops"].values()), 0,
                    f"{'abcd'[i]}: no drops")

        # 5. Requests that do not fit the frame: dropped, counted.
        bad = [
            ("TSO segments longer than 1514 bytes",
             frame(MC, MA, payload=pay), dict(gso_type=GSO_TCPV4, gso_size=1461,
                                              hdr_len=54, **CSUM)),
            ("TSO into 600 segments",
             frame(MC, MA, payload=bytes(60000)),
             dict(gso_type=GSO_TCPV4, gso_size=100, hdr_len=54, **CSUM)),
        ]
        # An IPv4 total length past the end of the frame.
        f5 = bytearray(frame(MC, MA, payload=b"z" * 100))
        f5[16:18] = (20 + 20 + 400).to_bytes(2, "big")
        f5[24:26] = b"\0\0"
        f5[24:26] = (~csum_fold(bytes(f5[14:34])) & 0xffff).to_bytes(2, "big")
        bad.append(("IP length past the frame's end", bytes(f5), CSUM))
        for what, fr, hdr in bad:
            A.send(fr, **hdr)
        got_b, got_c = B.recv(quiet=0.5), C.recv(quiet=0.5)
        c.equal(len(got_b) + len(got_c), 0, "none of them forwarded")
        st = sw.stats()
        c.equal(queue0(st, 0)["drops"]["bad_offload"], len(bad),
                f"A: bad_offload counts the {len(bad)}")

        # gso on a UDP frame, gso_size 0: librte_vhost drops the request
        # itself, and a frame that long is then oversize.
        f6 = frame(MC, MA, proto=17, payload=bytes(3000))
        A.send(f6, gso_type=GSO_TCPV4, gso_size=1000, hdr_len=42,
               flags=HDR_F_NEEDS_CSUM, csum_start=34, csum_offset=6)
        A.send(frame(MC, MA, payload=pay), gso_type=GSO_TCPV4, gso_size=0,
               hdr_len=54, **CSUM)
        # csum_offset past the frame's end: librte_vhost 22.11 drops the
        # request before splitvm-net sees the frame (no flag left): the
        # frame goes on as it is, never with a NEEDS_CSUM header.
        f7 = frame(MB, MA, payload=b"q" * 100)
        A.send(f7, flags=HDR_F_NEEDS_CSUM, csum_start=34, csum_offset=2000)
        got = B.recv(1)
        c.check(len(got) == 1 and got[0][0]["flags"] == 0 and got[0][1] == f7,
                "csum_offset past the end: no NEEDS_CSUM passed on to B",
                got[:1] and got[0][0])
        c.equal(len(C.recv(quiet=0.3)), 0,
                "gso on UDP, gso_size 0: nothing to C")
        st = sw.stats()
        c.equal(queue0(st, 0)["drops"]["oversize"], 2,
                "  ... both counted oversize")

        # The ports work on.
        f8 = frame(MC, MA, payload=b"after" * 20)
        A.send(f8, **CSUM)
        check_complete(C.recv(1), f8, "after the bad frames, to C")
        c.check(sw.proc.poll() is None, "splitvm-net is alive")
        status, final = sw.stop()
        c.equal(status, 0, "exit 0 on SIGTERM")
    finally:
        for p in ports:
            p.close()
        sw.kill()
        if c.failed:
            sw.dump()

# The cross-connect: 0<->1 (offloads, none), 2<->3 (offloads both).
with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    socks = [os.path.join(tmp, f"x{i}.sock") for i in range(4)]
    sw = netbe.SplitvmNet(exe, ["--mode", "xconnect"] +
                          [a for s in socks for a in ("--port", s)])
    ports = []
    try:
        netbe.wait_paths(socks)
        X = [NetFront(socks[0], F_OFFLOADS), NetFront(socks[1], 0),
             NetFront(socks[2], F_OFFLOADS),
             NetFront(socks[3], F_OFFLOADS, rxbuf=65600, nrx=32)]
        ports += X
        sw.wait_stats(lambda s: all(p["connected"] for p in s["ports"]))
        pay = bytes((i * 5) & 0xff for i in range(4000))
        tso = dict(gso_type=GSO_TCPV4, gso_size=1448, hdr_len=54, **CSUM)
        fx = frame(MB, MA, payload=pay)
        X[0].send(fx, **tso)
        check_segments(X[1].recv(3), fx, 1448, "xconnect TSO to a port without")
        fy = frame(MB, MA, payload=b"p" * 300)
        X[0].send(fy, **CSUM)
        check_complete(X[1].recv(1), fy, "xconnect partial checksum to a port "
                       "without")
        X[2].send(fx, **tso)
        check_tso_passed(X[3].recv(1), fx, GSO_TCPV4, 1448,
                         "xconnect TSO to a port with offloads")
        X[2].send(fy, **CSUM)
        check_partial(X[3].recv(1), fy, "xconnect partial checksum to a port "
                      "with offloads")
        st = sw.stats()
        c.equal([queue0(st, i)["sw_offload"] for i in range(4)], [2, 0, 0, 0],
                "xconnect: port 0's two frames completed, port 2's passed")
        status, _ = sw.stop()
        c.equal(status, 0, "xconnect: exit 0 on SIGTERM")
    finally:
        for p in ports:
            p.close()
        sw.kill()
        if c.failed:
            sw.dump()

c.finish()

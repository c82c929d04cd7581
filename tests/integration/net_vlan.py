#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Per-port VLANs in splitvm-net's switch, with Python vhost-user
frontends (tests/pylib/vu_net.py) on every port: access ports a and b in
VLAN 10 and c in VLAN 20, a trunk t carrying 10 and 20 tagged, a trunk n
added through --control (VLAN 20 tagged, native VLAN 10 untagged), and
two VLAN-unaware ports u and v. Frames within VLAN 10 arrive untagged on
a, b and n and tagged on t, never in VLAN 20 or on the unaware ports; a
frame tagged 20 from t reaches c untagged and n tagged; broadcasts stay
within their VLAN; one MAC learned in VLAN 10 and VLAN 20 on different
ports does not flap; unaware ports pass tags untouched among themselves;
frames a port does not take are dropped and counted (vlan); a checksum
and a TSO request keep working across a tag pushed or popped; a port
that goes away is forgotten in its VLAN."""

import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import svmtest  # noqa: E402
from vu_net import (F_OFFLOADS, GSO_NONE, GSO_TCPV4,  # noqa: E402
                    HDR_F_NEEDS_CSUM, NetFront, checksums_ok, frame,
                    partial_ok, tcp_seq)

exe = sys.argv[1]
c = svmtest.Checker("net_vlan")
BCAST = "ff:ff:ff:ff:ff:ff"
MA, MB, MC, MT, MN, MU, MV, MX, MZ = (
    f"02:00:00:00:00:{x:02x}" for x in (0xa, 0xb, 0xc, 0x7, 0xe, 0x1, 0x2,
                                        0x55, 0x99))
CSUM = dict(flags=HDR_F_NEEDS_CSUM, csum_start=34, csum_offset=16)
CSUM_TAGGED = dict(flags=HDR_F_NEEDS_CSUM, csum_start=38, csum_offset=16)


def tag(fr, vid, pcp=0):
    return fr[:12] + struct.pack("!HH", 0x8100, pcp << 13 | vid) + fr[12:]


def untag(fr):
    return fr[:12] + fr[16:]


def frames(got):
    return [fr for _, fr in got]


def nothing(ports, what):
    """None of ports received anything (a short look each)."""
    for name, p in ports:
        got = p.recv(timeout=0.4)
        c.equal(len(got), 0, f"{what}: nothing on {name}")


def port_by_name(st, name):
    return next(p for p in st["ports"] if p["name"] == name)


def vlan_drops(st, name):
    return sum(q["drops"]["vlan"] for q in port_by_name(st, name)["queues"])


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    names = "abctuv"
    socks = {n: os.path.join(tmp, f"{n}.sock") for n in names}
    control = os.path.join(tmp, "control.sock")
    vlan = dict(a=",vlan=10", b=",vlan=10", c=",vlan=20",
                t=",trunk=10:20", u="", v="")
    args = ["--threads", "2", "--control", control]
    for n in names:
        args += ["--port", socks[n] + f",name={n}" + vlan[n]]
    sw = netbe.SplitvmNet(exe, args)
    P = {}
    try:
        netbe.wait_paths(list(socks.values()) + [control])
        r = netbe.control(control, {"op": "add", "name": "n", "trunk": "20",
                                    "native": 10})
        c.equal(r.get("ok"), True, "--control adds trunk n (20, native 10)")
        r = netbe.control(control, {"op": "add", "name": "bad", "vlan": 4095})
        c.check(r.get("ok") is False and "4095" in r.get("error", ""),
                "--control refuses VLAN 4095 with a reason", r)
        r = netbe.control(control, {"op": "add", "name": "bad",
                                    "trunk": "10", "vlan": 3})
        c.check(r.get("ok") is False, "--control refuses vlan and trunk", r)
        socks["n"] = r_path = os.path.join(tmp, "n.sock")
        netbe.wait_paths([r_path])
        # b and c without offloads: frames completed for them.
        for n in "abctuvn":
            P[n] = NetFront(socks[n], 0 if n in "bc" else F_OFFLOADS,
                            **({} if n in "bc" else dict(rxbuf=65600, nrx=32)))
        st, up = sw.wait_stats(lambda s: len(s["ports"]) == 7 and
                               all(p["connected"] for p in s["ports"]))
        c.check(up, "seven frontends connected")
        cfg = {p["name"]: p["vlan"] for p in st["ports"]}
        c.equal(cfg, {"a": {"mode": "access", "vlan": 10},
                      "b": {"mode": "access", "vlan": 10},
                      "c": {"mode": "access", "vlan": 20},
                      "t": {"mode": "trunk", "trunk": "10:20"},
                      "u": {"mode": "none"}, "v": {"mode": "none"},
                      "n": {"mode": "trunk", "trunk": "20", "native": 10}},
                "statistics show every port's VLAN configuration")
        A, B, C, T, U, V, N = (P[n] for n in "abctuvn")

        # 1. A broadcast in VLAN 10 from a: untagged to b and n (native),
        # tagged 10 to t, nothing to c, u, v.
        f1 = frame(BCAST, MA, payload=b"hello from a")
        A.send(f1)
        c.equal(frames(B.recv(1)), [f1], "VLAN 10 broadcast: b, untagged")
        c.equal(frames(N.recv(1)), [f1], "VLAN 10 broadcast: n (native), "
                "untagged")
        c.equal(frames(T.recv(1)), [tag(f1, 10)],
                "VLAN 10 broadcast: t, tagged 10")
        nothing((("c", C), ("u", U), ("v", V)),
                "VLAN 10 broadcast stays in VLAN 10")

        # 2. b answers: known unicast, untagged, to a only.
        f2 = frame(MA, MB, payload=b"hello a")
        B.send(f2)
        c.equal(frames(A.recv(1)), [f2], "VLAN 10 unicast b -> a, untagged")
        nothing((("t", T), ("n", N), ("c", C)), "VLAN 10 unicast: no flood")

        # 3. Tagged 20 from the trunk: c untagged, n tagged 20 (with its
        # priority bits), nobody in VLAN 10 nor unaware.
        f3 = tag(frame(BCAST, MT, payload=b"vlan 20 from t"), 20, pcp=5)
        T.send(f3)
        c.equal(frames(C.recv(1)), [untag(f3)],
                "VLAN 20 broadcast from the trunk: c, untagged")
        c.equal(frames(N.recv(1)), [f3],
                "VLAN 20 broadcast from the trunk: n, tagged as sent")
        nothing((("a", A), ("b", B), ("u", U), ("v", V)),
                "VLAN 20 broadcast stays in VLAN 20")

        # 4. n's untagged and tagged-native frames are VLAN 10.
        f4 = frame(BCAST, MN, payload=b"native")
        N.send(f4)
        N.send(tag(f4, 10))
        c.equal(frames(A.recv(2)), [f4, f4], "n's native frames reach a "
                "untagged (untagged and tagged 10 sent)")
        c.equal(frames(T.recv(2)), [tag(f4, 10)] * 2,
                "n's native frames reach t tagged 10")
        B.recv(2)
        nothing((("c", C),), "n's native frames stay in VLAN 10")

        # 5. One MAC in two VLANs on two ports: learned on both, no flap.
        T.send(tag(frame(BCAST, MX, payload=b"x in 10"), 10))
        C.send(frame(BCAST, MX, payload=b"x in 20"))
        for p in (A, B, N, T):
            p.recv(timeout=1, quiet=0.3)
        ok_a = ok_c = True
        for i in range(3):
            fa = frame(MX, MA, payload=b"to x in 10 #%d" % i)
            A.send(fa)
            ok_a &= frames(T.recv(1)) == [tag(fa, 10)]
            fc = tag(frame(MX, MT, payload=b"to x in 20 #%d" % i), 20)
            T.send(fc)
            ok_c &= frames(C.recv(1)) == [untag(fc)]
            # Both stations speak again: each stays where it is.
            T.send(tag(frame(MA, MX, payload=b"x replies in 10"), 10))
            ok_a &= len(A.recv(1)) == 1
            fr = frame(MT, MX, payload=b"x replies in 20")
            C.send(fr)
            ok_c &= frames(T.recv(1)) == [tag(fr, 20)]
        c.check(ok_a, "MX in VLAN 10 stays on t (3 rounds)")
        c.check(ok_c, "MX in VLAN 20 stays on c (3 rounds)")
        nothing((("b", B), ("n", N), ("u", U)), "MX unicasts: no flood")

        # 6. Unaware ports: among themselves, tags untouched.
        f6 = tag(frame(BCAST, MU, payload=b"unaware"), 99)
        U.send(f6)
        c.equal(frames(V.recv(1)), [f6], "unaware u -> v: tagged 99 as sent")
        f6b = frame(MU, MV, payload=b"unaware unicast")
        V.send(f6b)
        c.equal(frames(U.recv(1)), [f6b], "unaware v -> u: untagged as sent")
        nothing((("a", A), ("t", T), ("c", C), ("n", N)),
                "unaware frames never reach a VLAN port")

        # 7. Checksum and TSO across push and pop. A partial checksum
        # flooded from a (VLAN 10): b completes it untagged, t gets the
        # request with csum_start past the tag, n as sent.
        f7 = frame(MZ, MA, payload=bytes(range(200)))
        A.send(f7, **CSUM)
        got = B.recv(1)
        c.check(len(got) == 1 and got[0][0]["flags"] == 0 and
                checksums_ok(got[0][1]) and len(got[0][1]) == len(f7),
                "partial checksum flooded to b (no offload): completed, "
                "untagged")
        got = T.recv(1)
        c.check(len(got) == 1 and got[0][0]["flags"] == HDR_F_NEEDS_CSUM and
                got[0][0]["csum_start"] == 38 and got[0][1] == tag(f7, 10) and
                partial_ok(untag(got[0][1])),
                "partial checksum flooded to t: tagged, csum_start 38",
                got[:1] and got[0][0])
        got = N.recv(1)
        c.check(len(got) == 1 and got[0][0]["csum_start"] == 34 and
                got[0][1] == f7, "partial checksum flooded to n: as sent")
        # Unicast, a partial checksum tagged 20 from t to MX on c (no
        # offloads): popped and completed in place.
        f7b = frame(MX, MT, payload=b"c" * 99)
        T.send(tag(f7b, 20), **CSUM_TAGGED)
        got = C.recv(1)
        c.check(len(got) == 1 and got[0][0]["flags"] == 0 and
                checksums_ok(got[0][1]) and len(got[0][1]) == len(f7b) and
                got[0][1][:50] == f7b[:50],
                "unicast partial checksum t -> c: untagged, completed")
        # A TSO frame tagged 10 from t: popped for a (TSO passed on,
        # csum_start back to 34), segmented for b.
        pay = bytes((i * 7) & 0xff for i in range(2900))
        f8 = tag(frame(MZ, MT, payload=pay), 10)
        T.send(f8, gso_type=GSO_TCPV4, gso_size=1000, hdr_len=58,
               **CSUM_TAGGED)
        got = A.recv(1)
        c.check(len(got) == 1 and got[0][0]["gso_type"] == GSO_TCPV4 and
                got[0][0]["csum_start"] == 34 and got[0][0]["hdr_len"] == 54
                and len(got[0][1]) == len(f8) - 4 and
                got[0][1][:50] == untag(f8)[:50],
                "TSO from the trunk to a: untagged, request kept, offsets "
                "without the tag", got[:1] and got[0][0])
        got = B.recv(3)
        c.check(len(got) == 3 and
                all(h["flags"] == 0 and h["gso_type"] == GSO_NONE and
                    checksums_ok(fr) and fr[12:14] == b"\x08\x00"
                    for h, fr in got) and
                b"".join(tcp_seq(fr)[2] for _, fr in got) == pay,
                "TSO from the trunk to b: 3 untagged segments, checksums "
                "right, payload complete")
        N.recv(1)

        # 8. Frames the ports do not take: counted, not forwarded.
        A.send(tag(frame(BCAST, MA, payload=b"tagged on access"), 10))
        T.send(frame(BCAST, MT, payload=b"untagged on a trunk"))
        T.send(tag(frame(BCAST, MT, payload=b"vlan 30"), 30))
        T.send(tag(frame(BCAST, MT, payload=b"priority tag"), 0))
        N.send(tag(frame(BCAST, MN, payload=b"vlan 30 on n"), 30))
        # 1518 bytes untagged: would be 1522 with a tag.
        A.send(frame(BCAST, MA, payload=bytes(1518 - 54)))
        nothing((("a", A), ("b", B), ("c", C), ("t", T), ("n", N)),
                "refused frames")
        st = sw.stats()
        c.equal([vlan_drops(st, n) for n in "abctnuv"],
                [1, 0, 0, 3, 1, 0, 0],
                "vlan drops: a 1 (tagged), t 3 (untagged, 30, 0), n 1 (30)")
        c.equal(port_by_name(st, "a")["queues"][0]["drops"]["oversize"], 1,
                "an untagged 1518-byte frame from an access port: oversize")

        # 9. A port that goes away is forgotten: a's unicast to b floods
        # (t gets it tagged).
        B.close()
        del P["b"]
        sw.wait_stats(lambda s: not port_by_name(s, "b")["connected"])
        f9 = frame(MB, MA, payload=b"b is gone")
        A.send(f9)
        c.equal(frames(T.recv(1)), [tag(f9, 10)],
                "b gone: its address forgotten, the frame floods VLAN 10")
        c.check(sw.proc.poll() is None, "splitvm-net is alive")
        status, _ = sw.stop()
        c.equal(status, 0, "exit 0 on SIGTERM")
    finally:
        for p in P.values():
            p.close()
        sw.kill()
        if c.failed:
            sw.dump()

# Cross-connect has no VLANs: refused at start with a reason.
with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    sw = netbe.SplitvmNet(exe, ["--mode", "xconnect", "--port",
                                os.path.join(tmp, "x.sock") + ",vlan=10",
                                "--port", os.path.join(tmp, "y.sock")])
    try:
        c.equal(sw.wait(30), 2, "xconnect with vlan=: exit status 2")
        c.check(sw.wait_log("need --mode switch", timeout=5),
                "  ... saying why")
    finally:
        sw.kill()

c.finish()

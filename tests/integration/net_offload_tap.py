#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Checksum and TSO offloads towards an uplink, the kernel behind a
net_tap in a network namespace: a frontend with every offload sends UDP
datagrams with a partial checksum and a TSO TCP frame through
splitvm-net to the tap, whose driver takes both requests (its TX
checksum and TSO offloads are enabled). Then again with --offload off:
the vhost port offers no offload, the frontend sends complete frames.
What the kernel receives is checked: its UDP socket gets every datagram
(the kernel drops a bad UDP checksum), a packet socket sees TCP segments
with right checksums, at most 1514 bytes, carrying the TSO frame's
payload in order. And a third time with the uplink's offloads off
(offload=off): splitvm-net completes the frames itself. Needs root (network namespaces), /dev/net/tun and
DPDK's tap driver; else SKIP."""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import netns  # noqa: E402
import svmtest  # noqa: E402
from vu_net import (F_OFFLOADS, GSO_TCPV4, HDR_F_NEEDS_CSUM,  # noqa: E402
                    NetFront, checksums_ok, frame, mac, tcp_seq)

IFACE = "svtapol0"
HOST_IP, PEER_IP = "10.78.0.1", "10.78.0.2"
MA = "02:00:00:00:00:0a"
UDP_PORT, DATAGRAMS = 53, 5      # vu_net.frame()'s UDP port

# Runs in the namespace: a UDP socket and a packet socket on the tap;
# prints one JSON line: datagrams the kernel accepted, and the frames
# from MA seen on the interface (hex).
CAPTURE = r"""
import json, socket, sys, time, select
iface, ip, port, src, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), bytes.fromhex(sys.argv[4]), float(sys.argv[5])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((ip, port))
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
p.bind((iface, 0))
print("ready", flush=True)
dgrams, frames = [], []
end = time.monotonic() + secs
while time.monotonic() < end:
    r, _, _ = select.select([u, p], [], [], 0.1)
    if u in r:
        dgrams.append(u.recv(65536).hex())
    if p in r:
        data, addr = p.recvfrom(70000)
        if addr[2] != socket.PACKET_OUTGOING and data[6:12] == src:
            frames.append(data.hex())
print(json.dumps({"dgrams": dgrams, "frames": frames}), flush=True)
"""

exe = sys.argv[1]
c = svmtest.Checker("net_offload_tap")
netns.skip_unless_usable("tap", "librte-net-tap23")
if not os.path.exists("/dev/net/tun"):
    svmtest.skip("no /dev/net/tun")


def run_case(extra, what, uplink_opts=""):
    ns = netns.Netns(f"svnet-ol-{os.getpid()}")
    sw = cap = A = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.chmod(tmp, 0o777)
            vsock = os.path.join(tmp, "vhost.sock")
            sw = netbe.SplitvmNet(
                exe, extra + ["--port", vsock, "--uplink",
                              f"net_tap0,iface={IFACE},name=tap" +
                              uplink_opts],
                unprivileged=False,
                wrapper=ns.prefix() + netns.unprivileged_with("net_admin"))
            if not c.check(sw.wait_log("forwarding: 2 ports"),
                           f"{what}: splitvm-net up with a tap uplink"):
                sw.dump()
                return
            soft = "--offload" in extra or uplink_opts
            want = ("offloads: none (software)" if soft
                    else "offloads: checksum TSO (IPv4)")
            c.check(sw.wait_log(want), f"{what}: the uplink says '{want}'")
            ns.run(["ip", "addr", "add", f"{HOST_IP}/24", "dev", IFACE])
            ns.run(["ip", "neigh", "add", PEER_IP, "lladdr", MA,
                    "dev", IFACE])
            tap_mac = json.loads(ns.run(["ip", "-j", "link", "show", IFACE])
                                 .stdout)[0]["address"]
            A = NetFront(vsock, F_OFFLOADS)
            offl = bool(A.features & F_OFFLOADS)
            c.equal(offl, "--offload" not in extra,
                    f"{what}: offloads negotiated on the vhost port: {offl}")
            cap = subprocess.Popen(
                ns.prefix() + [sys.executable, "-c", CAPTURE, IFACE, HOST_IP,
                               str(UDP_PORT), mac(MA).hex(), "4"],
                stdout=subprocess.PIPE, text=True)
            c.equal(cap.stdout.readline().strip(), "ready",
                    f"{what}: receivers in the namespace")
            sent = []
            for i in range(DATAGRAMS):
                payload = bytes((i + k) & 0xff for k in range(100 + 300 * i))
                f = _udp(tap_mac, payload, offl)
                sent.append(payload)
                if offl:
                    A.send(f, flags=HDR_F_NEEDS_CSUM, csum_start=34,
                           csum_offset=6)
                else:
                    A.send(f)
            pay = bytes((k * 13) & 0xff for k in range(2900))
            t = _tcp(tap_mac, pay, offl)
            if offl:
                A.send(t, flags=HDR_F_NEEDS_CSUM, csum_start=34,
                       csum_offset=16, gso_type=GSO_TCPV4, gso_size=1000,
                       hdr_len=54)
            out, _ = cap.communicate(timeout=30)
            cap = None
            got = json.loads(out.strip().splitlines()[-1])
            dgrams = [bytes.fromhex(d) for d in got["dgrams"]]
            c.check(dgrams == sent, f"{what}: the kernel took all "
                    f"{DATAGRAMS} UDP datagrams (checksums right)",
                    f"{len(dgrams)} came; kernel counters: " +
                    ns.run(["nstat", "-az", "UdpInCsumErrors", "UdpNoPorts",
                            "IpInHdrErrors", "IpInAddrErrors",
                            "UdpInDatagrams"]).stdout.replace("\n", "; "))
            if offl:
                frames = [bytes.fromhex(x) for x in got["frames"]]
                segs = [fr for fr in frames if fr[23] == 6]
                c.check(segs and all(checksums_ok(fr) for fr in segs),
                        f"{what}: TSO frame: {len(segs)} TCP segments on "
                        "the wire, checksums right",
                        " ".join(fr[:80].hex() for fr in segs))
                segs.sort(key=lambda fr: tcp_seq(fr)[0])
                data = b"".join(tcp_seq(fr)[2] for fr in segs)
                c.check(data == pay and all(len(fr) <= 1514 for fr in segs),
                        f"{what}: ... at most 1514 bytes, the payload in "
                        "order")
            st = sw.stats()
            c.check(st is not None and sw.proc.poll() is None,
                    f"{what}: splitvm-net alive")
            if st:
                q = st["ports"][0]["queues"][0]
                # By splitvm-net: the 5 datagrams and the TSO frame when
                # the vhost port has offloads and the uplink uses none.
                n = 1 + DATAGRAMS if offl and soft else 0
                c.equal(q["sw_offload"], n,
                        f"{what}: {n} frames completed by splitvm-net")
                c.equal(sum(q["drops"].values()), 0, f"{what}: no drops")
            status, _ = sw.stop()
            c.equal(status, 0, f"{what}: exit 0")
            sw = None
    finally:
        if cap:
            cap.kill()
            cap.wait()
        if A:
            A.close()
        if sw:
            sw.dump()
            sw.kill()
        ns.delete()


def _udp(dst, payload, partial):
    return frame(dst, MA, proto=17, payload=payload, partial=partial,
                 ips=(PEER_IP, HOST_IP))


def _tcp(dst, payload, partial):
    return frame(dst, MA, payload=payload, partial=partial, seq=7000,
                 tcp_flags=0x18, ips=(PEER_IP, HOST_IP))


run_case([], "offloads on")
run_case([], "the uplink's offloads off", ",offload=off")
run_case(["--offload", "off"], "--offload off")
c.finish()

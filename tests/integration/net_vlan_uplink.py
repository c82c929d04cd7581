#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A VLAN trunk on an uplink: DPDK's net_ring driver, given no ring
names, loops every frame it is sent back to its own receive queue. With
trunk=10:20 on it, access port a in VLAN 10 and z in VLAN 20 (Python
vhost-user frontends): a broadcast from a leaves on the uplink tagged 10
(pushed), comes back tagged, and reaches a again untagged (popped) and
never z; the same for z in VLAN 20. A frame the uplink would have to
take untagged (no push) would come back untagged and be dropped by the
trunk; one that kept its tag would reach a tagged: both fail here."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import svmtest  # noqa: E402
from vu_net import NetFront, frame  # noqa: E402

exe = sys.argv[1]
c = svmtest.Checker("net_vlan_uplink")
if not os.path.exists(os.path.join(netbe.PMDS, "librte_net_ring.so.23")):
    svmtest.skip("DPDK's ring driver is not installed (Debian package "
                 "librte-net-ring23)")
BCAST = "ff:ff:ff:ff:ff:ff"
MA, MZ = "02:00:00:00:00:0a", "02:00:00:00:00:0f"


def by_name(st, name):
    return next(p for p in st["ports"] if p["name"] == name)["queues"][0]


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    sa, sz = os.path.join(tmp, "a.sock"), os.path.join(tmp, "z.sock")
    sw = netbe.SplitvmNet(exe, ["--port", sa + ",name=a,vlan=10",
                                "--port", sz + ",name=z,vlan=20",
                                "--uplink", "net_ring0,name=loop,trunk=10:20"])
    ports = []
    try:
        netbe.wait_paths([sa, sz])
        A = NetFront(sa)
        ports.append(A)
        Z = NetFront(sz)
        ports.append(Z)
        st, up = sw.wait_stats(lambda s: all(p["connected"]
                                             for p in s["ports"]))
        c.check(up, "a, z and the ring uplink up")
        c.equal(next(p for p in st["ports"] if p["name"] == "loop")["vlan"],
                {"mode": "trunk", "trunk": "10:20"},
                "the uplink's VLANs in the statistics")
        f1 = frame(BCAST, MA, payload=b"a around the loop")
        A.send(f1)
        c.equal([fr for _, fr in A.recv(1)], [f1],
                "VLAN 10 broadcast from a comes back to a untagged")
        c.equal(len(Z.recv(timeout=0.5)), 0, "  ... and never reaches z")
        f2 = frame(BCAST, MZ, payload=b"z around the loop")
        Z.send(f2)
        c.equal([fr for _, fr in Z.recv(1)], [f2],
                "VLAN 20 broadcast from z comes back to z untagged")
        c.equal(len(A.recv(timeout=0.5)), 0, "  ... and never reaches a")
        st = sw.stats()
        up = by_name(st, "loop")
        c.equal((up["tx_frames"], up["rx_frames"], up["drops"]["vlan"]),
                (2, 2, 0), "uplink: 2 frames out tagged, 2 back, no vlan drop")
        c.equal(sw.stop()[0], 0, "exit 0 on SIGTERM")
    finally:
        for p in ports:
            p.close()
        sw.kill()
        if c.failed:
            sw.dump()

c.finish()

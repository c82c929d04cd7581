#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-net in cross-connect mode with four ports, 0<->1 and 2<->3,
between the virtio-user ports of one dpdk-testpmd. Ports 0 and 1 are
splitvm-net's sockets (server); on ports 2 and 3 testpmd listens
(virtio-user server=1) and splitvm-net connects as the client. Whatever
the destination address, a frame goes to the paired port and nowhere
else; counts are checked on both sides. Then testpmd quits and a new one
listens again: splitvm-net's client ports reconnect by themselves.
Last, port 0 sends more than port 1's receive ring holds while testpmd
does not drain it: every frame is delivered or counted rx_full.
splitvm-net busy-polls here (--busy-poll).

argv: splitvm-net [direct|mbuf] (--copy, default direct): with direct
every frame (64 bytes, no offload, split rings) must have gone the
direct way (the per-queue "direct" counter equals rx_frames); with mbuf
none."""

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import svmtest  # noqa: E402

MACS = ["02:00:00:00:00:20", "02:00:00:00:00:21", "02:00:00:00:00:22",
        "02:00:00:00:00:23"]
BCAST = "ff:ff:ff:ff:ff:ff"
N = len(MACS)
# More than a receive ring holds (virtio-user: 256 buffers).
FILL_BURSTS = 16
FILL_ROUND = 4          # bursts sent at once: 128 frames

exe = sys.argv[1]
COPY = sys.argv[2] if len(sys.argv) > 2 else "direct"
c = svmtest.Checker(f"net_xconnect_testpmd (--copy {COPY})")
TESTPMD = shutil.which("dpdk-testpmd")
if TESTPMD is None:
    svmtest.skip("dpdk-testpmd is not installed (Debian package dpdk-dev)")


def counts(st, key):
    return [netbe.port(st, i)[key] for i in range(N)]


def step(sw, tp, what, src, dst_mac, want_rx, want_tx):
    tp.send_burst(src, dst_mac)
    sw.wait_stats(lambda s: counts(s, "rx_frames") == want_rx and
                  counts(s, "tx_frames") == want_tx)
    tp.cmd("stop")
    time.sleep(0.3)
    st = sw.stats()
    if not c.check(st is not None, f"{what}: statistics answered"):
        return
    c.equal(counts(st, "rx_frames"), want_rx, f"{what}: frames received")
    c.equal(counts(st, "tx_frames"), want_tx, f"{what}: frames delivered")
    c.equal(counts(st, "flooded"), [0] * N, f"{what}: nothing flooded")
    c.equal([sum(netbe.port(st, i)["drops"].values()) for i in range(N)],
            [0] * N, f"{what}: no drops")
    c.equal(counts(st, "direct"),
            want_rx if COPY == "direct" else [0] * N,
            f"{what}: frames copied directly (--copy {COPY})")


def fill_step(sw, tp):
    """Port 0 sends FILL_BURSTS bursts to port 1, whose receive ring
    testpmd does not drain meanwhile: the ring fills up and splitvm-net
    drops the rest as rx_full on port 1, whichever copy path it takes;
    every frame is either delivered or counted. Then testpmd drains port 1
    and must have exactly what splitvm-net delivered."""
    n = FILL_BURSTS * 32
    st0 = sw.stats()
    if not c.check(st0 is not None, "ring full: statistics before"):
        return
    rx0, tx1 = netbe.port(st0, 0)["rx_frames"], netbe.port(st0, 1)["tx_frames"]
    full1, direct0 = (netbe.port(st0, 1)["drops"]["rx_full"],
                      netbe.port(st0, 0)["direct"])
    got0 = tp.port_stats().get(1, (0, 0))[0]
    tp.cmd("set portlist 0")
    tp.cmd(f"set eth-peer 0 {MACS[1]}")
    # In rounds that fit port 0's transmit ring whether or not
    # splitvm-net keeps up: testpmd drops what its ring cannot take, and
    # FILL_BURSTS bursts at once did not fit when splitvm-net was slower
    # to start than testpmd.
    for r in range(FILL_BURSTS // FILL_ROUND):
        tp.cmd(f"start tx_first {FILL_ROUND}")
        sw.wait_stats(lambda s: netbe.port(s, 0)["rx_frames"] >=
                      rx0 + (r + 1) * FILL_ROUND * 32)
        tp.cmd("stop")
    time.sleep(0.3)
    st = sw.stats()
    if not c.check(st is not None, "ring full: statistics answered"):
        return
    delivered = netbe.port(st, 1)["tx_frames"] - tx1
    full = netbe.port(st, 1)["drops"]["rx_full"] - full1
    c.equal(netbe.port(st, 0)["rx_frames"] - rx0, n,
            f"ring full: {n} frames received from port 0")
    c.check(full > 0 and delivered > 0,
            "ring full: some delivered, the rest dropped as rx_full",
            f"delivered {delivered}, rx_full {full}")
    c.equal(delivered + full, n, "ring full: every frame delivered or "
            "counted rx_full")
    c.equal(netbe.port(st, 0)["direct"] - direct0,
            delivered if COPY == "direct" else 0,
            f"ring full: the delivered ones copied directly (--copy {COPY})")
    tp.cmd("set portlist 1")
    tp.cmd("start")
    end = time.monotonic() + 30
    while (time.monotonic() < end and
           tp.port_stats().get(1, (0, 0))[0] < got0 + delivered):
        time.sleep(0.2)
    tp.cmd("stop")
    c.equal(tp.port_stats().get(1, (0, 0))[0] - got0, delivered,
            "ring full: testpmd port 1 got exactly what was delivered")


def all_connected(s):
    return all(p["connected"] for p in s["ports"])


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    socks = [os.path.join(tmp, f"x{i}.sock") for i in range(N)]
    prefix = f"splitvm-net-xc-{os.getpid()}"
    # splitvm-net first: testpmd connects to ports 0 and 1 as it probes
    # them, then waits on 2 and 3 until splitvm-net's client connects
    # (librte_vhost retries about once a second).
    # --busy-poll here (the switch test covers the sleeping default).
    sw = netbe.SplitvmNet(exe, ["--mode", "xconnect", "--busy-poll",
                                "--copy", COPY,
                                "--port", socks[0], "--port", socks[1],
                                "--port", socks[2] + ",client",
                                "--port", socks[3] + ",client"])
    tp = None
    try:
        if not c.check(sw.wait_log("forwarding: 4 ports, mode xconnect, "
                                   "busy polling"),
                       "splitvm-net started in xconnect mode"):
            sw.dump()
            c.finish()
        tp = netbe.Testpmd(TESTPMD, socks, MACS, prefix,
                           os.path.join(tmp, "testpmd.log"), servers=(2, 3))
        netbe.open_sockets(tp.proc, socks[2:])
        if not c.check(tp.started(), "testpmd started with 4 virtio-user ports"):
            print(tp.tail())
            c.finish()
        tp.cmd("set fwd rxonly")
        st, ok = sw.wait_stats(all_connected)
        c.check(ok, "all four ports connected (two as client)")

        step(sw, tp, "broadcast 0 -> 1 only", 0, BCAST,
             [32, 0, 0, 0], [0, 32, 0, 0])
        step(sw, tp, "3 -> 2 whatever the address", 3, MACS[0],
             [32, 0, 0, 32], [0, 32, 32, 0])
        step(sw, tp, "1 -> 0", 1, MACS[3],
             [32, 32, 0, 32], [32, 32, 32, 0])

        tp.cmd("set portlist 0,1,2,3")
        tp.cmd("start")
        want = {0: (32, 32), 1: (32, 32), 2: (32, 0), 3: (0, 32)}
        end = time.monotonic() + 30
        while time.monotonic() < end:
            got = tp.port_stats()
            if all(got.get(p, (0, 0))[0] >= want[p][0] for p in want):
                break
            time.sleep(0.2)
        tp.cmd("stop")
        got = tp.port_stats()
        for p, (rx, tx) in want.items():
            g = got.get(p, (None, None))
            c.equal(g, (rx, tx), f"testpmd port {p} received {rx}, sent {tx}")

        # The frontend (server of ports 2 and 3) restarts.
        tp.quit()
        st, ok = sw.wait_stats(lambda s: not any(p["connected"]
                                                 for p in s["ports"]))
        c.check(ok, "every port down after testpmd quit")
        tp = netbe.Testpmd(TESTPMD, socks, MACS, prefix + "b",
                           os.path.join(tmp, "testpmd2.log"), servers=(2, 3))
        netbe.open_sockets(tp.proc, socks[2:])
        if c.check(tp.started(), "a second testpmd starts"):
            tp.cmd("set fwd rxonly")
            st, ok = sw.wait_stats(all_connected, timeout=60)
            c.check(ok, "splitvm-net reconnected its client ports")
            step(sw, tp, "2 -> 3 after reconnect", 2, BCAST,
                 [32, 32, 32, 32], [32, 32, 32, 32])
            fill_step(sw, tp)
        tp.quit()
        tp = None
        status, final = sw.stop()
        c.equal(status, 0, "splitvm-net exits 0 on SIGTERM")
        c.check(final is not None, "final statistics printed on exit")
        for s in socks[:2]:
            c.check(not os.path.exists(s),
                    f"server socket {os.path.basename(s)} removed on exit")
        if c.failed:
            sw.dump()
    finally:
        if tp:
            tp.quit()
        sw.kill()

c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-net as an L2 switch between three vhost-user ports, with one
dpdk-testpmd as the third-party frontend (a virtio-user port per socket,
MACs ...:10, ...:11, ...:12). splitvm-net runs as uid 65534 (when the test
runs as root) with no capabilities and no hugepages. Each step makes one
port send one burst of 32 frames (txonly) and checks where splitvm-net put
them: flooded while the destination is unknown, unicast once learned,
broadcast flooded, a frame for a station on its own port dropped (no
hairpin). Then testpmd drains its ports, and its own receive counters
must match. With the ports connected but silent, splitvm-net must not
burn a CPU. testpmd quits (the switch forgets the stations behind the
ports), a second testpmd connects to the same sockets and traffic flows
again. SIGTERM ends splitvm-net: exit 0, sockets removed."""

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import svmtest  # noqa: E402

BURST = 32
MACS = ["02:00:00:00:00:10", "02:00:00:00:00:11", "02:00:00:00:00:12"]
BCAST = "ff:ff:ff:ff:ff:ff"

exe = sys.argv[1]
c = svmtest.Checker("net_switch_testpmd")
TESTPMD = shutil.which("dpdk-testpmd")
if TESTPMD is None:
    svmtest.skip("dpdk-testpmd is not installed (Debian package dpdk-dev)")


def counts(st, key):
    return [netbe.port(st, i)[key] for i in range(len(MACS))]


def drops(st):
    return {i: {k: v for k, v in netbe.port(st, i)["drops"].items() if v}
            for i in range(len(MACS))}


def step(sw, tp, what, src, dst_mac, want_rx, want_tx, want_flooded,
         want_drops=None, want_direct=None):
    """src sends a burst to dst_mac; splitvm-net's counters must become
    exactly want_* (cumulative lists per port). want_direct: the frames
    copied directly (--copy direct, the default: known unicast only)."""
    tp.send_burst(src, dst_mac)
    st, ok = sw.wait_stats(lambda s: counts(s, "rx_frames") == want_rx and
                           counts(s, "tx_frames") == want_tx)
    tp.cmd("stop")
    # Let a wrong extra copy show up before the counters are compared.
    time.sleep(0.3)
    st = sw.stats()
    good = c.check(st is not None, f"{what}: statistics answered")
    if not good:
        return None
    good &= c.equal(counts(st, "rx_frames"), want_rx,
                    f"{what}: frames received per port")
    good &= c.equal(counts(st, "tx_frames"), want_tx,
                    f"{what}: frames delivered per port")
    good &= c.equal(counts(st, "flooded"), want_flooded,
                    f"{what}: frames flooded per source port")
    good &= c.equal(drops(st), want_drops or {0: {}, 1: {}, 2: {}},
                    f"{what}: drops")
    if want_direct is not None:
        good &= c.equal(counts(st, "direct"), want_direct,
                        f"{what}: frames copied directly per source port")
    if not good:
        print(tp.tail())
    return st


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)    # splitvm-net (uid 65534) creates its sockets here
    socks = [os.path.join(tmp, f"p{i}.sock") for i in range(len(MACS))]
    args = []
    for s in socks:
        args += ["--port", s]
    sw = netbe.SplitvmNet(exe, args)
    tp = None
    try:
        if not c.check(sw.wait_log("forwarding: 3 ports, mode switch"),
                       "splitvm-net started with 3 ports"):
            sw.dump()
            c.finish()
        status = netbe.proc_status(sw.proc.pid)
        uids = status["Uid"].split()
        c.check(all(u != "0" for u in uids), "splitvm-net runs without uid 0",
                status["Uid"])
        c.equal(status["CapEff"], "0000000000000000",
                "splitvm-net has no effective capabilities")
        c.equal(status["CapPrm"], "0000000000000000",
                "splitvm-net has no permitted capabilities")
        for s in socks:
            c.check(os.path.exists(s), f"socket {os.path.basename(s)} created")

        prefix = f"splitvm-net-test-{os.getpid()}"
        tp = netbe.Testpmd(TESTPMD, socks, MACS, prefix,
                           os.path.join(tmp, "testpmd.log"))
        if not c.check(tp.started(), "testpmd started with 3 virtio-user ports"):
            print(tp.tail())
            c.finish()
        tp.cmd("set fwd rxonly")
        st, ok = sw.wait_stats(lambda s: all(p["connected"]
                                             for p in s["ports"]))
        c.check(ok, "splitvm-net sees all three frontends connected")

        # 0 -> 1 while nobody is known: flooded to 1 and 2.
        step(sw, tp, "unknown destination", 0, MACS[1],
             [32, 0, 0], [0, 32, 32], [32, 0, 0], want_direct=[0, 0, 0])
        # 1 -> 0: port 0's address was learned from the step before.
        step(sw, tp, "learned destination", 1, MACS[0],
             [32, 32, 0], [32, 32, 32], [32, 0, 0], want_direct=[0, 32, 0])
        # 0 -> 1 again: now port 1 is known too, so no flooding.
        step(sw, tp, "both learned", 0, MACS[1],
             [64, 32, 0], [32, 64, 32], [32, 0, 0], want_direct=[32, 32, 0])
        # 2 -> broadcast: everyone else gets it.
        st = step(sw, tp, "broadcast", 2, BCAST,
                  [64, 32, 32], [64, 96, 32], [32, 0, 32],
                  want_direct=[32, 32, 0])
        if st:
            c.equal(st["mac_entries"], 3, "three stations learned")
        # 0 -> its own address: learned on port 0, so dropped (no hairpin).
        step(sw, tp, "hairpin", 0, MACS[0],
             [96, 32, 32], [64, 96, 32], [32, 0, 32],
             {0: {"hairpin": 32}, 1: {}, 2: {}}, want_direct=[32, 32, 0])

        # testpmd drains what splitvm-net delivered; its counters agree.
        tp.cmd("set portlist 0,1,2")
        tp.cmd("start")
        want = {0: (64, 96), 1: (96, 32), 2: (32, 32)}
        end = time.monotonic() + 30
        got = {}
        while time.monotonic() < end:
            got = tp.port_stats()
            if all(got.get(p, (0, 0))[0] >= want[p][0] for p in want):
                break
            time.sleep(0.2)
        tp.cmd("stop")
        got = tp.port_stats()
        for p, (rx, tx) in want.items():
            g = got.get(p, (None, None))
            c.equal(g[1], tx, f"testpmd port {p} sent {tx} frames")
            c.equal(g[0], rx, f"testpmd port {p} received {rx} frames")

        # Connected and silent: splitvm-net sleeps on the kick eventfds.
        time.sleep(0.5)
        t0, c0 = time.monotonic(), netbe.cpu_seconds(sw.proc.pid)
        time.sleep(3)
        t1, c1 = time.monotonic(), netbe.cpu_seconds(sw.proc.pid)
        share = (c1 - c0) / (t1 - t0)
        c.check(share < 0.25, "idle with silent ports: well under a busy CPU",
                f"{share:.2f} of a CPU")
        print(f"  info idle CPU share with 3 silent ports: {share:.3f}")

        # The frontend goes away: ports down, stations forgotten.
        tp.quit()
        tp = None
        st, ok = sw.wait_stats(lambda s: not any(p["connected"]
                                                 for p in s["ports"]))
        c.check(ok, "splitvm-net noticed the frontends leaving")
        if st:
            c.equal(st["mac_entries"], 0, "stations behind gone ports forgotten")
        c.check(sw.proc.poll() is None, "splitvm-net survives its frontends")

        # A new frontend on the same sockets: 1 -> 0 is unknown again.
        tp = netbe.Testpmd(TESTPMD, socks, MACS, prefix + "b",
                           os.path.join(tmp, "testpmd2.log"))
        if c.check(tp.started(), "a second testpmd connects to the sockets"):
            tp.cmd("set fwd rxonly")
            st, ok = sw.wait_stats(lambda s: all(p["connected"]
                                                 for p in s["ports"]))
            c.check(ok, "all three ports connected again")
            step(sw, tp, "after reconnect", 1, MACS[0],
                 [96, 64, 32], [96, 96, 64], [32, 32, 32],
                 {0: {"hairpin": 32}, 1: {}, 2: {}}, want_direct=[32, 32, 0])
        tp.quit()
        tp = None

        status, final = sw.stop()
        c.equal(status, 0, "splitvm-net exits 0 on SIGTERM")
        c.check(final is not None and counts(final, "rx_frames") ==
                [96, 64, 32], "final statistics printed on exit")
        if final:
            c.equal(final["fwd"]["frames"], 96 + 64 + 32,
                    "forwarding cost counted over every frame received")
            c.check(final["fwd"]["busy_cycles"] > 0 and
                    final["fwd"]["tsc_hz"] > 0, "  ... with busy cycles")
        for s in socks:
            c.check(not os.path.exists(s),
                    f"socket {os.path.basename(s)} removed on exit")
        c.check(not netbe.runtime_dirs(f"splitvm-net-{sw.proc.pid}"),
                "splitvm-net's EAL runtime directory removed on exit")
        if c.failed:
            sw.dump()
    finally:
        if tp:
            tp.quit()
        sw.kill()

c.finish()

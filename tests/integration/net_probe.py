#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Malformed descriptor chains against splitvm-net, while other ports
carry good traffic.  splitvm-net (unprivileged, default sleeping idle
mode) cross-connects four ports: 0<->1 take splitvm-drive --net --probe
(bad chains into port 0, good frames out of port 1, broken receive
buffers on port 1); 2<->3 belong to one dpdk-testpmd whose two
virtio-user ports keep a loop of frames going through them (io
forwarding) while the probe runs.  Checked: every probe passes (nothing
but the good frame comes out, the same connection and a new one still
forward), each kind of bad chain is counted under its own reason on the
port it came from, the loop still runs afterwards with no drop on ports
2 and 3 and a burst each way then arrives whole, and splitvm-net stays up
and exits 0.  Then the same probe through a two-thread, two-queue switch,
on split and on packed rings."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import svmtest  # noqa: E402

exe, drive = sys.argv[1], sys.argv[2]
c = svmtest.Checker("net_probe")
TESTPMD = shutil.which("dpdk-testpmd")
if TESTPMD is None:
    svmtest.skip("dpdk-testpmd is not installed (Debian package dpdk-dev)")

# What splitvm-net must count for each probe, and where.
EXPECT = {
    "bad_chain": ["tx_descriptor_loop", "tx_next_out_of_table",
                  "tx_addr_unmapped", "tx_addr_past_end", "tx_huge_length",
                  "tx_indirect_unmapped", "tx_indirect_too_long",
                  "tx_indirect_loop"],
    "short_chain": ["tx_zero_length", "tx_header_only", "tx_short_header"],
    "runt": ["tx_runt"],
    "oversize": ["tx_oversize_9000", "tx_oversize_64k"],
}
# What a packed ring cannot express (splitvm-drive skips these there).
SPLIT_ONLY = {"tx_descriptor_loop", "tx_next_out_of_table",
              "tx_indirect_unmapped", "tx_indirect_too_long",
              "tx_indirect_loop"}
EXPECT_RX = {
    "bad_rx_buf": ["rx_buffer_unmapped", "rx_buffer_loop",
                   "rx_buffer_next_out_of_table", "rx_buffer_zero_length",
                   "rx_buffer_tiny"],
}
MACS = ["02:00:00:00:00:32", "02:00:00:00:00:33"]
BURST = 32

with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    socks = [os.path.join(tmp, f"p{i}.sock") for i in range(4)]
    prefix = f"splitvm-net-probe-{os.getpid()}"
    sw = netbe.SplitvmNet(exe, ["--mode", "xconnect"] +
                          [a for s in socks for a in ("--port", s)])
    tp = None
    probe = None
    try:
        if not c.check(sw.wait_log("forwarding: 4 ports, mode xconnect"),
                       "splitvm-net started"):
            sw.dump()
            c.finish()
        status = netbe.proc_status(sw.proc.pid)
        c.check(status["Uid"].split()[1] != "0" or os.geteuid() != 0,
                "splitvm-net runs unprivileged")
        tp = netbe.Testpmd(TESTPMD, socks[2:], MACS, prefix,
                           os.path.join(tmp, "testpmd.log"))
        if not c.check(tp.started(), "testpmd started"):
            print(tp.tail())
            c.finish()
        tp.cmd("set fwd rxonly")
        st, ok = sw.wait_stats(lambda s: s["ports"][2]["connected"] and
                               s["ports"][3]["connected"])
        c.check(ok, "testpmd's ports 2 and 3 connected")

        # During the probe testpmd's two ports forward a loop of frames
        # to each other through splitvm-net (io forwarding).
        tp.cmd("set fwd io")
        tp.cmd("set portlist 0,1")
        tp.cmd("start tx_first")

        def moved(st, i):
            return netbe.port(st, i)["tx_frames"] if st else 0

        # Under load testpmd may take a moment to forward its first burst
        # back: the loop must be going before the probe starts.
        before, ok = sw.wait_stats(lambda s: all(
            netbe.port(s, i)["tx_frames"] > 2 * BURST for i in (2, 3)))
        c.check(ok, "testpmd's loop runs through ports 2 and 3")
        probe = subprocess.Popen(
            [drive, "--net", "--probe", "--json", "-s", socks[0],
             "--peer", socks[1]], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        out, err = probe.communicate(timeout=300)
        after = sw.stats()
        try:
            res = json.loads(out)
        except ValueError:
            res = {"probes": [], "failed": -1}
            print(out, err)
        c.equal(probe.returncode, 0, "every probe passed (exit status 0)")
        for p in res["probes"]:
            if not p["pass"]:
                print(f"    probe {p}")
        names = {p["name"] for p in res["probes"]}
        want = {n for v in list(EXPECT.values()) + list(EXPECT_RX.values())
                for n in v}
        c.equal(names, want, "the probes this test knows how to count")
        c.check(sw.proc.poll() is None, "splitvm-net still runs")
        # Still going after the probe, nothing lost on the way.
        later, ok = sw.wait_stats(lambda s: all(
            moved(s, i) > moved(after, i) for i in (2, 3)))
        c.check(ok, "testpmd's loop still runs after the probe")
        tp.cmd("stop")
        for i in (2, 3):
            print(f"    port {i}: {moved(after, i) - moved(before, i)} "
                  "frames delivered while the probe ran")
            c.equal(sum(netbe.port(later, i)["drops"].values()), 0,
                    f"port {i}: no drops")

        # Then exact counts: one burst each way, all of it arrives.
        # The loop's last frames still sit in testpmd's receive rings.
        tp.cmd("set fwd rxonly")
        tp.cmd("start")
        time.sleep(0.5)
        tp.cmd("stop")
        tp.cmd("clear port stats all")
        base = sw.stats()
        for src in (0, 1):
            tp.send_burst(src, MACS[1 - src])
            tp.cmd("stop")
        tp.cmd("set portlist 0,1")
        tp.cmd("start")

        def delta(s, i, key):
            return netbe.port(s, i)[key] - netbe.port(base, i)[key]

        st, ok = sw.wait_stats(lambda s: delta(s, 2, "tx_frames") >= BURST
                               and delta(s, 3, "tx_frames") >= BURST)
        c.check(ok, "a burst each way came through after the probe")
        got = {}
        end = time.monotonic() + 30
        while time.monotonic() < end:
            got = tp.port_stats()
            if all(got.get(p, (0, 0))[0] >= BURST for p in (0, 1)):
                break
            time.sleep(0.2)
        tp.cmd("stop")
        for i in (2, 3):
            c.equal((delta(st, i, "rx_frames"), delta(st, i, "tx_frames")),
                    (BURST, BURST), f"port {i}: one burst in, one out")
            c.equal(sum(netbe.port(st, i)["drops"].values()), 0,
                    f"port {i}: no drops")
        c.equal([got.get(p, (0, 0))[0] for p in (0, 1)], [BURST, BURST],
                "testpmd received each burst")

        # The probe's pair: each kind counted where it belongs.
        q0, q1 = netbe.port(st, 0), netbe.port(st, 1)
        for reason, probes in EXPECT.items():
            c.equal(q0["drops"][reason], len(probes),
                    f"port 0: {reason} counts {', '.join(probes)}")
        for reason, probes in EXPECT_RX.items():
            c.equal(q1["drops"][reason], len(probes),
                    f"port 1: {reason} counts {', '.join(probes)}")
        c.equal(q1["drops"]["bad_chain"] + q1["drops"]["short_chain"], 0,
                "port 1 sent no bad chain")

        tp.quit()
        tp = None
        status, final = sw.stop()
        c.equal(status, 0, "splitvm-net exits 0 on SIGTERM")
        if c.failed:
            sw.dump()

        # Again through the switch, two threads and two queue pairs per
        # port: the guard beside the receive-ring locks and the MAC table
        # lock (the good frames flood to port 1).
        sw = netbe.SplitvmNet(exe, ["--threads", "2", "--queues", "2",
                                    "--port", socks[0], "--port", socks[1]])
        if c.check(sw.wait_log("forwarding: 2 ports, mode switch"),
                   "splitvm-net started as a two-thread switch"):
            p = subprocess.run(
                [drive, "--net", "--probe", "--json", "-s", socks[0],
                 "--peer", socks[1]], capture_output=True, text=True,
                timeout=300)
            c.equal(p.returncode, 0, "switch: every probe passed")
            st = sw.stats()
            if c.check(st is not None, "switch: statistics answered"):
                q0, q1 = netbe.port(st, 0), netbe.port(st, 1)
                for reason, probes in EXPECT.items():
                    c.equal(q0["drops"][reason], len(probes),
                            f"switch: port 0 {reason}")
                for reason, probes in EXPECT_RX.items():
                    c.equal(q1["drops"][reason], len(probes),
                            f"switch: port 1 {reason}")
            # Packed rings: librte_vhost drops bad transmit chains itself,
            # splitvm-net counts them from where the chains it noted end
            # (no loops, next indexes or indirect tables there); runts,
            # oversize frames and bad receive buffers as on split rings.
            p = subprocess.run(
                [drive, "--net", "--probe", "--packed", "--json", "-s",
                 socks[0], "--peer", socks[1]], capture_output=True,
                text=True, timeout=300)
            c.equal(p.returncode, 0, "packed: every probe passed")
            st2 = sw.stats()
            if st and c.check(st2 is not None, "packed: statistics"):
                d0 = {k: netbe.port(st2, 0)["drops"][k] -
                      netbe.port(st, 0)["drops"][k] for k in EXPECT}
                c.equal(d0, {k: len([p for p in v if p not in SPLIT_ONLY])
                             for k, v in EXPECT.items()},
                        "packed: port 0 counts every bad transmit chain, "
                        "runt and oversize frame by its kind")
                c.equal(netbe.port(st2, 1)["drops"]["bad_rx_buf"] -
                        netbe.port(st, 1)["drops"]["bad_rx_buf"], 3,
                        "packed: port 1 counts the three bad receive buffers")
            status, final = sw.stop()
            c.equal(status, 0, "switch: exits 0 on SIGTERM")
        if c.failed:
            sw.dump()
    finally:
        if probe and probe.poll() is None:
            probe.kill()
            probe.wait()
        if tp:
            tp.quit()
        sw.kill()

c.finish()

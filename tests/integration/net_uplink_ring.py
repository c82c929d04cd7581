#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-net with a net_ring uplink: DPDK's ring driver, given no
rings by name, makes a port whose transmit queue feeds its own receive
queue, so every frame sent to the uplink comes back from it.  The far
end of the vhost-user port is a virtio-user port of dpdk-testpmd.
splitvm-net runs unprivileged under its default seccomp filter (kill).

Cross-connect: a burst from testpmd crosses to the uplink, loops back
and crosses to the vhost port again: testpmd receives every frame it
sent, unchanged (source, destination, EtherType, length), and both of
splitvm-net's ports count it once each way.  Switch: a broadcast from
the vhost port is flooded to the uplink, comes back and is flooded to
the vhost port (the only other port); the sender's address moves to the
uplink and back with every frame; an unknown unicast goes the same way."""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import svmtest  # noqa: E402

BURST = 32
VIRTIO_MAC = "02:00:00:00:00:31"
OTHER_MAC = "02:00:00:00:00:99"
BCAST = "ff:ff:ff:ff:ff:ff"
SW_VHOST, SW_UPLINK = 0, 1

exe = sys.argv[1]
c = svmtest.Checker("net_uplink_ring")
TESTPMD = netbe.testpmd_with("ring", "librte-net-ring23")


def counts(st, key):
    return netbe.counts(st, key, (SW_VHOST, SW_UPLINK))


def drops(st):
    return netbe.drops(st, (SW_VHOST, SW_UPLINK))


def step(sw, tp, what, dst_mac, want_rx, want_tx, want_flooded,
         want_back, want_drops=None):
    """testpmd sends a burst to dst_mac and keeps receiving; splitvm-net's
    counters (vhost port, uplink) must become want_*, and testpmd must
    receive want_back frames, each the one it sent."""
    with tp.lock:
        start = len(tp.out)
    tp.send_burst(0, dst_mac)
    sw.wait_stats(lambda s: counts(s, "rx_frames") == want_rx and
                  counts(s, "tx_frames") == want_tx)
    time.sleep(0.3)     # let a wrong extra copy show up
    tp.cmd("stop")
    st = sw.stats()
    if not c.check(st is not None, f"{what}: statistics answered"):
        return
    good = c.equal(counts(st, "rx_frames"), want_rx,
                   f"{what}: frames received (vhost port, uplink)")
    good &= c.equal(counts(st, "tx_frames"), want_tx,
                    f"{what}: frames delivered (vhost port, uplink)")
    good &= c.equal(counts(st, "flooded"), want_flooded,
                    f"{what}: frames flooded")
    good &= c.equal(drops(st), want_drops or [{}, {}], f"{what}: drops")
    with tp.lock:
        back = netbe.received_frames(tp.out[start:])
    good &= c.equal(len(back), want_back,
                    f"{what}: testpmd received {want_back} frames")
    good &= c.check(all(f == (VIRTIO_MAC, dst_mac, "0x0800", 64)
                        for f in back),
                    f"{what}: each is the frame sent ({VIRTIO_MAC} to "
                    f"{dst_mac}, IPv4, 64 bytes)", str(back[:2]))
    if not good:
        print(tp.tail())
        sw.dump()


def run(tmp, mode, steps):
    vsock = os.path.join(tmp, f"{mode}.sock")
    sw = netbe.SplitvmNet(exe, ["--mode", mode, "--port", vsock,
                                "--uplink", "net_ring0,name=loop",
                                "--seccomp", "kill"])
    tp = None
    try:
        if not c.check(sw.wait_log(f"forwarding: 2 ports, mode {mode}"),
                       f"{mode}: splitvm-net started with a ring uplink"):
            sw.dump()
            return
        status = netbe.proc_status(sw.proc.pid)
        c.check(all(u != "0" for u in status["Uid"].split()),
                f"{mode}: splitvm-net runs without uid 0", status["Uid"])
        c.equal(status["CapEff"], "0000000000000000",
                f"{mode}: splitvm-net has no capabilities")
        tp = netbe.Testpmd(TESTPMD, [vsock], [VIRTIO_MAC],
                           f"splitvm-net-ring-{os.getpid()}-{mode}",
                           os.path.join(tmp, f"testpmd-{mode}.log"))
        if not c.check(tp.started(), f"{mode}: testpmd started"):
            print(tp.tail())
            return
        tp.cmd("set fwd rxonly")
        tp.cmd("set verbose 1")
        st, ok = sw.wait_stats(lambda s: all(p["connected"]
                                             for p in s["ports"]))
        c.check(ok, f"{mode}: vhost port and ring uplink up")
        if st:
            up = st["ports"][SW_UPLINK]
            c.equal((up["name"], up["role"], up["devargs"]),
                    ("loop", "uplink", "net_ring0"),
                    f"{mode}: the uplink in the statistics")
        for s in steps:
            step(sw, tp, f"{mode}: {s[0]}", *s[1:])
        status, _ = sw.stop()
        c.equal(status, 0, f"{mode}: splitvm-net exits 0 on SIGTERM")
        c.check(not netbe.runtime_dirs(f"splitvm-net-{sw.proc.pid}"),
                f"{mode}: EAL runtime directory removed")
        sw = None
    finally:
        if sw:
            sw.dump()
            sw.kill()
        if tp:
            tp.quit()


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    # Out through the uplink, back through it, and out to the vhost port:
    # whatever the destination.
    run(tmp, "xconnect", [
        ("a burst goes round the loop", OTHER_MAC,
         [BURST, BURST], [BURST, BURST], [0, 0], BURST),
        ("and again", VIRTIO_MAC,
         [2 * BURST, 2 * BURST], [2 * BURST, 2 * BURST], [0, 0], BURST),
    ])
    run(tmp, "switch", [
        # Flooded out, flooded back: the sender moves to the uplink.
        ("broadcast flooded both ways", BCAST,
         [BURST, BURST], [BURST, BURST], [BURST, BURST], BURST),
        # Every frame moves its sender: learned on the vhost port as it
        # enters, on the uplink as it comes back.  An unknown unicast is
        # flooded out and back like the broadcast.
        ("unknown unicast flooded both ways", OTHER_MAC,
         [2 * BURST, 2 * BURST], [2 * BURST, 2 * BURST],
         [2 * BURST, 2 * BURST], BURST),
    ])

c.finish()

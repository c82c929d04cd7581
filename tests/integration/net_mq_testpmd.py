#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-net multiqueue: --queues 2 and two forwarding threads (--cpus
0,1, the second checked to sit on CPU 1) in cross-connect mode,
0<->1 and 2<->3, port 3 configured with queues=4.  One dpdk-testpmd
(A) has three virtio-user ports with two queue pairs each on ports 0-2;
a second one (B) a single-queue port on port 3, so port 3 has four queue
pairs served but only one enabled.  A burst from every transmit queue:
queue k arrives on queue k of a two-queue destination, and on queue
k mod 1 = 0 of port 3; the statistics show each queue apart, the
frontends get every frame.  Before that, a frontend built on protocol/
(vu_front) reads what each port offers: MQ, the control queue and
GET_QUEUE_NUM = the pairs served.  MQ is negotiated on the two-queue
ports, both forwarding threads exist, and the idle process sleeps."""

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import svmtest  # noqa: E402
import vu_front  # noqa: E402

exe = sys.argv[1]
c = svmtest.Checker("net_mq_testpmd")
TESTPMD = shutil.which("dpdk-testpmd")
if TESTPMD is None:
    svmtest.skip("dpdk-testpmd is not installed (Debian package dpdk-dev)")

MACS = ["02:00:00:00:00:40", "02:00:00:00:00:41", "02:00:00:00:00:42",
        "02:00:00:00:00:43"]
BURST = 32
VIRTIO_NET_F_MQ = 22
VIRTIO_NET_F_CTRL_VQ = 17


def offer(path):
    """What a port offers a frontend: (MQ, CTRL_VQ, GET_QUEUE_NUM)."""
    vu = vu_front.VhostUser(path)
    try:
        feats = vu.get_u64(vu_front.GET_FEATURES)
        pf = vu.get_u64(vu_front.GET_PROTOCOL_FEATURES)
        vu.set_u64(vu_front.SET_FEATURES,
                   vu_front.F_PROTOCOL_FEATURES | vu_front.F_VERSION_1)
        vu.set_u64(vu_front.SET_PROTOCOL_FEATURES, pf & vu_front.PF_MQ)
        return (feats >> VIRTIO_NET_F_MQ & 1, feats >> VIRTIO_NET_F_CTRL_VQ & 1,
                vu.get_u64(vu_front.GET_QUEUE_NUM))
    finally:
        vu.close()


def per_queue(st, port, key):
    return [x[key] for x in st["ports"][port]["queues"]]


def wait_rx(tp, port, want):
    got = (0, 0)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        got = tp.port_stats().get(port, (0, 0))
        if got[0] >= want:
            break
        time.sleep(0.2)
    return got[0]


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    socks = [os.path.join(tmp, f"m{i}.sock") for i in range(4)]
    # Two threads pinned one per CPU when the machine has the two CPUs the
    # project's hosts have (HOST.md), else two floating threads.
    cpus = sorted(os.sched_getaffinity(0))
    pinned = cpus[:2] == [0, 1]
    threads = ["--cpus", "0,1"] if pinned else ["--threads", "2"]
    sw = netbe.SplitvmNet(exe, ["--mode", "xconnect", "--queues", "2"] +
                          threads + ["--port", socks[0], "--port", socks[1],
                                     "--port", socks[2],
                                     "--port", socks[3] + ",queues=4"])
    tpa = tpb = None
    try:
        if not c.check(sw.wait_log("forwarding: 4 ports, mode xconnect, "
                                   "sleeping when idle, 2 threads"),
                       "splitvm-net started with two threads"):
            sw.dump()
            c.finish()
        # The queue pairs served, as the frontend learns them.
        c.equal(offer(socks[0]), (1, 1, 2),
                "port 0 offers MQ and the control queue, 2 pairs")
        c.equal(offer(socks[3]), (1, 1, 4), "port 3 offers 4 pairs")
        sw1 = netbe.SplitvmNet(exe, ["--port", os.path.join(tmp, "one.sock")])
        if sw1.wait_log("forwarding: 1 ports"):
            c.equal(offer(os.path.join(tmp, "one.sock")), (0, 0, 1),
                    "a one-queue port offers neither MQ nor CTRL_VQ")
        sw1.stop()
        tpa = netbe.Testpmd(TESTPMD, socks[:3], MACS[:3],
                            f"splitvm-net-mqa-{os.getpid()}",
                            os.path.join(tmp, "tpa.log"), queues=2)
        if not c.check(tpa.started(), "testpmd A (3 ports x 2 queues)"):
            print(tpa.tail())
            c.finish()
        tpb = netbe.Testpmd(TESTPMD, socks[3:], MACS[3:],
                            f"splitvm-net-mqb-{os.getpid()}",
                            os.path.join(tmp, "tpb.log"))
        if not c.check(tpb.started(), "testpmd B (1 port, 1 queue)"):
            print(tpb.tail())
            c.finish()
        for tp in (tpa, tpb):
            tp.cmd("set fwd rxonly")
            tp.cmd("start")
        st, ok = sw.wait_stats(lambda s: all(p["connected"]
                                             for p in s["ports"]))
        c.check(ok, "all four ports connected")
        c.equal([len(p["queues"]) for p in st["ports"]], [2, 2, 2, 4],
                "queue pairs served per port (--queues 2, queues=4)")
        feats = [int(line.split("features 0x")[1].split(")")[0], 16)
                 for line in sw.stderr if "frontend connected" in line]
        c.equal(sum(bool(f >> VIRTIO_NET_F_MQ & 1) for f in feats), 3,
                "VIRTIO_NET_F_MQ negotiated by the three two-queue ports")

        for tp in (tpa, tpb):
            tp.cmd("stop")
        # (sender, its port, splitvm-net source, destination, the source
        # queues' frames, where the destination must deliver them, what)
        steps = [
            (tpa, 0, 0, 1, [BURST, BURST], [BURST, BURST],
             "queue k delivered on queue k"),
            (tpa, 2, 2, 3, [BURST, BURST], [2 * BURST, 0, 0, 0],
             "both queues delivered on its one enabled queue"),
            (tpb, 0, 3, 2, [BURST, 0, 0, 0], [BURST, 0],
             "queue 0 delivered on queue 0"),
        ]
        for tp, tport, src, dst, want_rx, want_tx, what in steps:
            tp.send_burst(tport, MACS[dst])
            tp.cmd("stop")
            st, ok = sw.wait_stats(
                lambda s: sum(per_queue(s, dst, "tx_frames")) >=
                sum(want_tx))
            c.equal(per_queue(st, src, "rx_frames"), want_rx,
                    f"port {src}: received per queue")
            c.equal(per_queue(st, dst, "tx_frames"), want_tx,
                    f"port {dst}: {what}")
        c.equal(sum(sum(x["drops"].values()) for p in st["ports"]
                    for x in p["queues"]), 0, "no drops anywhere")

        tpa.cmd("set portlist 0,1,2")
        for tp in (tpa, tpb):
            tp.cmd("start")
        c.equal(wait_rx(tpa, 1, 2 * BURST), 2 * BURST,
                "testpmd A port 1 received both queues' frames")
        c.equal(wait_rx(tpb, 0, 2 * BURST), 2 * BURST,
                "testpmd B received both queues' frames on its one queue")
        c.equal(wait_rx(tpa, 2, BURST), BURST,
                "testpmd A port 2 received B's frames")
        for tp in (tpa, tpb):
            tp.cmd("stop")

        names, workers = [], []
        for tid in os.listdir(f"/proc/{sw.proc.pid}/task"):
            with open(f"/proc/{sw.proc.pid}/task/{tid}/comm") as f:
                names.append(f.read().strip())
            if "worker" in names[-1]:
                workers.append(os.sched_getaffinity(int(tid)))
        c.check(len(workers) == 1,
                f"a second forwarding thread runs ({', '.join(names)})")
        if pinned and workers:
            c.equal(workers[0], {1}, "--cpus 0,1: the second one on CPU 1")
        time.sleep(1)
        cpu0 = netbe.cpu_seconds(sw.proc.pid)
        time.sleep(3)
        used = netbe.cpu_seconds(sw.proc.pid) - cpu0
        c.check(used < 1.5, f"both threads sleep while idle: {used:.2f} "
                "CPU seconds in 3 s (a spinning thread would use ~3)")

        tpa.quit()
        tpb.quit()
        tpa = tpb = None
        status, final = sw.stop()
        c.equal(status, 0, "splitvm-net exits 0 on SIGTERM")
        if c.failed:
            sw.dump()
    finally:
        for tp in (tpa, tpb):
            if tp:
                tp.quit()
        sw.kill()

c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The core and the test guest through splitvm-net: the guest's virtio-net
device is served by splitvm-net port 0 (the core connects as the vhost-user
frontend), cross-connected to port 1, where dpdk-testpmd's virtio-user port
swaps the addresses of every frame (macswap) and sends it back. The guest
sends 64 broadcast frames with a sequence number and checksum and must get
each back intact with its addresses swapped; splitvm-net (uid 65534 when
run as root) and testpmd must have counted the same 64 frames each way.

With "mq" as the fourth argument: four queue pairs end to end (splitvm-net
--queues 4 --threads 2, the guest's device with queues=4 and the core's
control queue, testpmd with four queues): the guest sends VQ_PAIRS_SET 4
and spreads its frames over the pairs, splitvm-net keeps queue k on queue
k both ways, so every pair gets its share back and splitvm-net's
statistics show FRAMES / 4 on every queue of both ports; then the core,
told GET_QUEUE_NUM = 4, refuses a device with 8 pairs on that port."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import svmtest  # noqa: E402

FRAMES = 64
MAC = "52:54:00:12:34:56"

splitvm, guest, exe = sys.argv[1:4]
QUEUES = 4 if sys.argv[4:5] == ["mq"] else 1
c = svmtest.Checker("net_guest_xconnect" + ("_mq" if QUEUES > 1 else ""))
svmtest.require_kvm()
TESTPMD = shutil.which("dpdk-testpmd")
if TESTPMD is None:
    svmtest.skip("dpdk-testpmd is not installed (Debian package dpdk-dev)")

prefix = f"splitvm-net-guest-{os.getpid()}"

with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    gsock = os.path.join(tmp, "guest.sock")
    tsock = os.path.join(tmp, "testpmd.sock")
    mq = ["--queues", str(QUEUES), "--threads", "2"] if QUEUES > 1 else []
    sw = netbe.SplitvmNet(exe, ["-v", "--mode", "xconnect", "--port",
                                gsock + ",name=guest", "--port",
                                tsock + ",name=testpmd"] + mq)
    tp = None
    log = open(os.path.join(tmp, "testpmd.log"), "w+")
    try:
        if not c.check(sw.wait_log("forwarding: 2 ports, mode xconnect"),
                       "splitvm-net started"):
            sw.dump()
            c.finish()
        eal = ["-l", "0,1", "--no-huge", "-m", "1024", "--no-pci",
               f"--file-prefix={prefix}",
               "--vdev", f"net_virtio_user0,path={tsock}" +
               (f",queues={QUEUES}" if QUEUES > 1 else "")]
        if os.geteuid() != 0:
            eal += ["--no-shconf", "--iova-mode=va"]
        # Line buffered, so its log shows when forwarding has started.
        tp = subprocess.Popen(
            [shutil.which("stdbuf") or "stdbuf", "-oL", TESTPMD] + eal +
            ["--", "--forward-mode=macswap", "--auto-start",
             "--total-num-mbufs=16384", "--no-mlockall", "--stats-period=1"] +
            ([f"--rxq={QUEUES}", f"--txq={QUEUES}"] if QUEUES > 1 else []),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        st, ok = sw.wait_stats(lambda s: s["ports"][1]["connected"])
        c.check(ok, "testpmd connected to port 1")
        # Connected is not started: its receive ring gets buffers when the
        # port starts, and frames before that are dropped (rx_full).
        end = time.monotonic() + 60
        while time.monotonic() < end and tp.poll() is None:
            log.seek(0)
            if "start packet forwarding" in log.read():
                break
            time.sleep(0.1)
        c.check(tp.poll() is None, "testpmd is forwarding")

        cmdline = f"guest.ticks=1 guest.exit=poweroff guest.net={FRAMES}"
        net = f"socket={gsock},mac={MAC}"
        if QUEUES > 1:
            cmdline += f" guest.net_queues={QUEUES} guest.net_irq=1"
            net += f",queues={QUEUES}"
        r = svmtest.run([splitvm, "--kernel", guest, "--memory", "64M",
                         "--net", net, "--cmdline", cmdline], timeout=120)
        ok = c.equal(r.status, svmtest.EXIT_POWEROFF, "splitvm exits 0")
        m = re.search(r"guest: net (\S+) mac=(\S+) sent=(\d+) received=(\d+) "
                      r"verified=(\d+) swapped=(\d+)", r.stdout)
        if c.check(m is not None, "the guest ran its network test",
                   r.stdout[-500:]):
            _, mac, sent, received, verified, swapped = m.groups()
            ok &= c.equal(int(sent), FRAMES, "frames sent by the guest")
            ok &= c.equal(int(received), FRAMES, "frames received back")
            ok &= c.equal(int(verified), FRAMES, "every payload intact")
            ok &= c.equal(int(swapped), FRAMES,
                          "every frame went through testpmd's macswap")
        if QUEUES > 1:
            m = re.search(r"guest: net \S+ queue_pairs=(\d+) "
                          r"max_virtqueue_pairs=(\d+) ctrl_vq=(\d+) "
                          r"pairs_set=ok", r.stdout)
            ok &= c.check(m is not None and int(m.group(1)) == QUEUES,
                          f"the guest set {QUEUES} pairs through the core's "
                          "control queue", r.stdout[-800:])
            per = FRAMES // QUEUES
            ok &= c.equal(svmtest.guest_net_pairs(r.stdout),
                          {k: (per, per, per) for k in range(QUEUES)},
                          "every pair sent, received and verified its share")
        ok &= c.check("guest: result=PASS" in r.stdout, "the guest passes")
        if not ok:
            r.dump()
            sw.dump()

        st, ok = sw.wait_stats(lambda s: not s["ports"][0]["connected"])
        c.check(ok, "splitvm-net saw the VM's device go away")
        if QUEUES > 1:
            # GET_QUEUE_NUM says how many pairs the port serves.
            r2 = svmtest.run([splitvm, "--kernel", guest, "--memory", "64M",
                              "--net", f"socket={gsock},mac={MAC},"
                              f"queues={2 * QUEUES}", "--cmdline",
                              "guest.ticks=1 guest.exit=poweroff"],
                             timeout=120)
            c.check(r2.status != 0 and f"{2 * QUEUES} queue pairs asked for, "
                    f"it has {QUEUES}" in r2.stderr,
                    f"the core refuses {2 * QUEUES} pairs on a port serving "
                    f"{QUEUES}", r2.stderr[-500:])
        if st and QUEUES > 1:
            per = FRAMES // QUEUES
            for i in (0, 1):
                qs = st["ports"][i]["queues"]
                c.equal([(x["rx_frames"], x["tx_frames"]) for x in qs],
                        [(per, per)] * QUEUES,
                        f"splitvm-net port {i}: queue k in and out evenly")
                c.equal(sum(sum(x["drops"].values()) for x in qs), 0,
                        f"splitvm-net port {i}: no drops")
                # Two threads: a receive ring the other holds just then
                # sends a frame the mbuf way, so not necessarily all.
                c.check(sum(x["direct"] for x in qs) > 0,
                        f"splitvm-net port {i}: frames copied directly "
                        "(--copy direct)")
        elif st:
            g, t = netbe.port(st, 0), netbe.port(st, 1)
            c.equal((g["rx_frames"], g["tx_frames"]), (FRAMES, FRAMES),
                    "splitvm-net guest port: frames from and to the guest")
            c.equal((t["rx_frames"], t["tx_frames"]), (FRAMES, FRAMES),
                    "splitvm-net testpmd port: frames from and to testpmd")
            c.equal((g["drops"], t["drops"]),
                    ({k: 0 for k in g["drops"]}, {k: 0 for k in t["drops"]}),
                    "no drops")
            # The guest's device has packed rings here (the core offers
            # them, the test guest takes them): no direct copy either way.
            c.equal((g["direct"], t["direct"]), (0, 0),
                    "packed rings: every frame through an mbuf")
        c.check(tp.poll() is None and sw.proc.poll() is None,
                "testpmd and splitvm-net survive the VM's exit")
    finally:
        if tp and tp.poll() is None:
            tp.send_signal(signal.SIGINT)
            try:
                tp.wait(timeout=20)
            except subprocess.TimeoutExpired:
                tp.kill()
                tp.wait()
        status, _ = sw.stop()
        c.equal(status, 0, "splitvm-net exits 0 on SIGTERM")
        log.seek(0)
        tp_log = log.read()
        log.close()
        for d in netbe.runtime_dirs(prefix):
            shutil.rmtree(d, ignore_errors=True)

    blocks = re.findall(r"Forward statistics for port 0\s+-+\s*\n"
                        r"\s*RX-packets:\s*(\d+).*?\n"
                        r"\s*TX-packets:\s*(\d+)", tp_log)
    if c.check(bool(blocks), "testpmd printed its final statistics",
               tp_log[-1000:]):
        rx, tx = map(int, blocks[-1])
        c.equal((rx, tx), (FRAMES, FRAMES), "testpmd swapped and returned 64")

c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The guest's measuring modes, used by tools/bench_net.py, keep working:
guest.net=N prints a rate line timed by its calibrated TSC, and
guest.net_rtt=N sends N frames one at a time through DPDK's testpmd
(macswap), each time waiting for the receive queue's MSI-X interrupt,
with guest.net_rtt_kick=both once with the kicks testpmd asks for (none)
and once writing the doorbell every round; all of it once with split
and once with packed virtqueues (guest.ring=).
Checks counts and consistency only; no timing is asserted (this host's
timings vary by orders of magnitude under load)."""

import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import svmtest  # noqa: E402
import testpmd  # noqa: E402

FRAMES = 256
ROUNDS = 200
WARMUP = 8
MAC = "52:54:00:12:34:56"
RINGS = ("split", "packed")

splitvm, guest = sys.argv[1:3]
c = svmtest.Checker("net_rtt")
svmtest.require_kvm()
if testpmd.binary() is None:
    svmtest.skip("dpdk-testpmd is not installed (Debian package dpdk-dev)")

tmp = tempfile.mkdtemp(prefix="splitvm-net-rtt-")
sock = os.path.join(tmp, "net.sock")
tp = testpmd.Testpmd(sock, f"splitvm-net-rtt-{os.getpid()}")
try:
    if not c.check(tp.start(), "testpmd is running and listening"):
        print(tp.stop()[-2000:])
        c.finish()
    # Both virtqueue layouts: testpmd offers RING_PACKED, so guest.ring=auto
    # (the default) would only ever run packed.
    ok = True
    for ring in RINGS:
        argv = [splitvm, "--kernel", guest, "--memory", "64M",
                "--net", f"socket={sock},mac={MAC}",
                "--cmdline", f"guest.ticks=1 guest.exit=poweroff "
                             f"guest.net={FRAMES} guest.net_rtt={ROUNDS} "
                             f"guest.net_rtt_kick=both guest.ring={ring}"]
        r = svmtest.run(argv, timeout=240)
        # The guest refuses a TSC calibration a host preemption may have
        # falsified and says so; on a machine that busy, try once more.
        if "TSC calibration failed: every try preempted" in r.stdout:
            print("  note: the guest's vCPU was preempted in every TSC "
                  "calibration try; booting once more")
            r = svmtest.run(argv, timeout=240)
        ok &= c.equal(r.status, svmtest.EXIT_POWEROFF, f"{ring}: splitvm exits 0")
        ok &= c.check("guest: result=PASS" in r.stdout, f"{ring}: the guest passes")

        m = re.search(r"guest: net \S+ rate frames=(\d+) elapsed_ns=(\d+) "
                      r"frames_per_s=(\d+) tsc_khz=(\d+) chunks=(\d+) "
                      r"chunk_frames=(\d+) chunk_median_fps=(\d+) "
                      r"chunk_max_fps=(\d+)", r.stdout)
        if c.check(m is not None, f"{ring}: guest.net printed its rate line"):
            (frames, ns, fps, khz, chunks, chunk_frames, chunk_med,
             chunk_max) = map(int, m.groups())
            ok &= c.equal(frames, FRAMES, "the rate counts every verified frame")
            ok &= c.check(ns > 0 and khz > 0, "elapsed time and TSC rate known",
                          m.group(0))
            # The guest's own arithmetic, recomputed (integer rounding aside).
            ok &= c.check(abs(fps - frames * 10**9 // max(ns, 1)) <= 1,
                          "frames_per_s = frames / elapsed", m.group(0))
            ok &= c.equal((chunks, chunk_frames), (16, FRAMES // 16),
                          "16 chunks of N/16 frames timed")
            # The slowest chunk cannot be faster than the whole run.
            ok &= c.check(0 < chunk_med <= chunk_max and
                          chunk_max * 16 >= fps, "chunk rates consistent",
                          m.group(0))
        else:
            ok = False

        for kick in ("device", "always"):
            m = re.search(r"guest: net_rtt \S+ kick=" + kick +
                          r" rounds=(\d+) warmup=(\d+) irqs=(\d+) "
                          r"stray_irqs=(\d+) tx_kicks=(\d+) tx_suppressed=(\d+) "
                          r"tsc_khz=(\d+) tsc_cal_ppm=(\d+) min_ns=(\d+) "
                          r"median_ns=(\d+) p99_ns=(\d+) max_ns=(\d+) ring=" + ring,
                          r.stdout)
            if not c.check(m is not None,
                           f"{ring}: guest.net_rtt kick={kick} printed its report line",
                           r.stdout[-800:]):
                ok = False
                continue
            (rounds, warmup, irqs, stray, kicks, suppressed, khz, ppm,
             lo, med, p99, hi) = (int(x) for x in m.groups())
            ok &= c.equal(rounds, ROUNDS,
                          f"{ring} kick={kick}: every requested round trip completed")
            ok &= c.equal(warmup, WARMUP, f"{ring} kick={kick}: warm-up rounds reported")
            ok &= c.check(irqs >= ROUNDS,
                          f"{ring} kick={kick}: an MSI-X interrupt ended every round",
                          f"irqs={irqs} rounds={rounds}")
            ok &= c.equal(irqs - stray, ROUNDS, f"{ring} kick={kick}: interrupts with "
                          "a frame = rounds (the rest are stray)")
            if kick == "device":
                ok &= c.equal(kicks + suppressed, ROUNDS,
                              f"{ring} kick=device: one notification, written or "
                              "suppressed by the device, per round")
            else:
                ok &= c.equal(kicks, ROUNDS,
                              f"{ring} kick=always: the doorbell written every round")
            ok &= c.check(khz > 0 and ppm < 100000,
                          f"{ring} kick={kick}: the TSC was calibrated against the PIT",
                          f"tsc_khz={khz} tsc_cal_ppm={ppm}")
            ok &= c.check(0 < lo <= med <= p99 <= hi,
                          f"{ring} kick={kick}: min <= median <= p99 <= max",
                          m.group(0))
        if not ok:
            r.dump()
    c.check(tp.running(), "testpmd survives splitvm's exit")
finally:
    log = tp.stop()
    if os.path.exists(sock):
        os.unlink(sock)
    os.rmdir(tmp)

stats = testpmd.port0_stats(log)
if c.check(stats is not None, "testpmd printed its final statistics",
           log[-1500:]):
    rx, tx = stats
    want = len(RINGS) * (FRAMES + WARMUP + 2 * ROUNDS)
    c.check(rx >= want, "testpmd port 0 received every frame",
            f"RX-packets {rx}, want >= {want}")
    c.check(tx >= want, "testpmd port 0 sent every frame back",
            f"TX-packets {tx}, want >= {want}")
c.check(not tp.runtime_dirs(), "testpmd's runtime directory is gone")
c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-net as the memif server of an uplink (role=server) exits 0 on
SIGTERM while testpmd's memif client is connected, cycle after cycle.

A regression check for a race at exit: DPDK 22.11's rte_eal_cleanup()
unmaps the EAL's memory without stopping its interrupt thread, which
closing the memif uplink wakes and which then walks a source the memif
server leaves registered, in that memory; when the thread ran after the
unmap, splitvm-net died with SIGSEGV (exit status -11), about one
SIGTERM in six in net_uplink_memif. That needs the interrupt thread to
run late, so during each SIGTERM the test puts every thread of
splitvm-net on one CPU beside a busy process: the old code then died
in 15 of 19 cycles here, and in the first cycle of each of five runs
of this test (without the crowding, in none of 69). The test runs as
many cycles as fit in its budget (NET_MEMIF_EXIT_SECONDS, default 20,
at least 3) and checks each: exit 0, the memif socket and the EAL
runtime directory removed. Every other cycle runs two forwarding
threads. splitvm-net runs as uid 65534 with the default seccomp filter."""

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import svmtest  # noqa: E402

exe = sys.argv[1]
c = svmtest.Checker("net_uplink_memif_exit")
TESTPMD = netbe.testpmd_with("memif", "librte-net-memif23")
BUDGET = float(os.environ.get("NET_MEMIF_EXIT_SECONDS", "20"))
MIN_CYCLES = 3
CPU = min(os.sched_getaffinity(0))


def crowd(pid):
    """Every thread of pid on CPU, and a busy process there beside them:
    a thread woken now waits for its turn.  Returns the busy process."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), {CPU})
        except (ProcessLookupError, FileNotFoundError):
            pass
    return subprocess.Popen([sys.executable, "-c", "while True: pass"],
                            preexec_fn=lambda: os.sched_setaffinity(0, {CPU}))


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    msock = os.path.join(tmp, "memif.sock")
    uplink = (f"net_memif0,role=server,socket={msock},socket-abstract=no,"
              "name=srv")
    # testpmd's memif client is its port 0; it connects when the port
    # starts, so one testpmd serves every cycle (port stop/start).
    tp = netbe.Testpmd(TESTPMD, [], [], f"splitvm-net-exit-{os.getpid()}",
                       os.path.join(tmp, "testpmd.log"),
                       vdevs=[f"net_memif0,role=client,socket={msock},"
                              "socket-abstract=no,mac=02:00:00:00:00:20"])
    sw = None
    cycles = failures = 0
    try:
        if not c.check(tp.started(), "testpmd with a memif client started"):
            print(tp.tail())
        end = time.monotonic() + BUDGET
        while not c.failed and (cycles < MIN_CYCLES or
                                time.monotonic() < end):
            threads = ["--threads", "2"] if cycles % 2 else []
            what = f"cycle {cycles} ({'2 threads' if threads else '1 thread'})"
            sw = netbe.SplitvmNet(exe, ["--uplink", uplink] + threads)
            ok = sw.wait_log("forwarding:")
            if ok:
                tp.cmd("port stop 0")
                tp.cmd("port start 0")
                ok = tp.link_up(0)
            if not c.check(ok, f"{what}: memif client connected to "
                           "splitvm-net"):
                sw.dump()
                print(tp.tail())
                break
            busy = crowd(sw.proc.pid)
            try:
                status, _ = sw.stop()
            finally:
                busy.kill()
                busy.wait()
            if status != 0:
                failures += 1
                c.equal(status, 0, f"{what}: splitvm-net exits 0 on SIGTERM "
                        "with a memif client connected")
                sw.dump()
            c.check(not os.path.exists(msock),
                    f"{what}: memif server socket removed")
            c.check(not netbe.runtime_dirs(f"splitvm-net-{sw.proc.pid}"),
                    f"{what}: EAL runtime directory removed")
            sw = None
            cycles += 1
        print(f"{cycles} SIGTERM cycles with a connected memif client, "
              f"{failures} bad exits")
        if not c.failed:
            c.check(cycles >= MIN_CYCLES, f"at least {MIN_CYCLES} cycles ran")
    finally:
        if sw:
            sw.kill()
        tp.quit()

c.finish()

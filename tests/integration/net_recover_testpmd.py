#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""--net whose back-end is killed (SIGKILL) and restarted by hand while
the guest's device runs: dpdk-testpmd's vhost PMD (macswap) serves the
guest's virtio-net device.  The guest starts the device, idles
(guest.net_wait_ms) while testpmd is killed and restarted on the same
socket CYCLES times, then sends its frames: splitvm reconnected each
time and replayed the rings (the same kick and call eventfds, each ring
at the used index guest memory holds), so traffic flows and every frame
comes back verified, and the guest never saw DEVICE_NEEDS_RESET.
Under traffic a net back-end's restart loses at most the frames in
flight (no inflight region for net); this test's guest cannot tell lost
frames from a stall, so it restarts the back-end between frames.

argv: splitvm guest CYCLES [split|packed]"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import svmtest  # noqa: E402
import testpmd  # noqa: E402
from svmtest import wait_until  # noqa: E402

splitvm, guest = sys.argv[1:3]
cycles = int(sys.argv[3])
ring = sys.argv[4] if len(sys.argv) > 4 else "split"
FRAMES = 2000
c = svmtest.Checker(f"net_recover_testpmd ({cycles} kills, {ring})")
svmtest.require_kvm()
TESTPMD = shutil.which("dpdk-testpmd")
if TESTPMD is None:
    svmtest.skip("dpdk-testpmd is not installed (Debian package dpdk-dev)")
prefix = f"splitvm-netrc-{os.getpid()}"


def start_testpmd(sock, log):
    # The integration tests' one testpmd command line (pylib/testpmd.py),
    # run here by hand: this test restarts it on the same socket.
    argv = testpmd.Testpmd(sock, prefix, log_path=log.name).argv()
    tp = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                          stderr=subprocess.STDOUT)
    for _ in range(300):
        if os.path.exists(sock) or tp.poll() is not None:
            break
        time.sleep(0.1)
    # splitvm runs as nobody by now; testpmd made its socket as root.
    if os.path.exists(sock):
        os.chmod(sock, 0o777)
    return tp


def text(path):
    with open(path, errors="replace") as f:
        return f.read()



with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    sock = os.path.join(tmp, "net.sock")
    log = open(os.path.join(tmp, "testpmd.log"), "w+")
    tp = start_testpmd(sock, log)
    out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
    # Idle long enough for every cycle (TSC "ms" at 1 GHz: a third of
    # that or more in real time here).
    wait_ms = 15000 + cycles * 12000
    argv = [splitvm, "--kernel", guest, "--memory", "64M",
            "--net", f"socket={sock},mac=52:54:00:12:34:56",
            "--cmdline", f"guest.ticks=1 guest.exit=poweroff guest.ring={ring} "
            f"guest.net={FRAMES} guest.net_wait_ms={wait_ms}"]
    vm = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                          stdout=open(out_path, "wb"), stderr=open(err_path, "wb"))
    try:
        c.check(wait_until(lambda: "idle for" in text(out_path), 60),
                "the guest started its device and idles")
        done = 0
        for i in range(cycles):
            if "idle for" not in text(out_path) or "guest: net 00" in \
                    text(out_path).split("idle for")[-1]:
                break
            tp.kill()
            tp.wait()
            if os.path.exists(sock):
                os.unlink(sock)
            tp = start_testpmd(sock, log)
            if not c.check(wait_until(lambda n=i + 1: text(err_path).count(
                    "reconnected to the vhost-user back-end") >= n, 60),
                    f"kill {i + 1}: splitvm reconnects"):
                break
            done += 1
        c.equal(done, cycles, "every kill cycle ran while the guest idled")
        try:
            vm.wait(timeout=wait_ms / 1000 + 120)
        except subprocess.TimeoutExpired:
            vm.kill()
            vm.wait()
        m = re.search(r"guest: net \S+ mac=\S+ sent=(\d+) received=(\d+) "
                      r"verified=(\d+) swapped=(\d+)", text(out_path))
        if c.check(m is not None, "the guest ran its traffic"):
            c.equal(int(m.group(3)), FRAMES, "every frame came back verified")
            c.equal(int(m.group(4)), FRAMES, "every frame went through testpmd")
        c.check("needs reset" not in text(out_path), "no DEVICE_NEEDS_RESET")
        c.equal(vm.returncode, svmtest.EXIT_POWEROFF, "splitvm exits 0 (guest PASS)")
        c.equal([l for l in text(err_path).splitlines()
                 if l.startswith("splitvm: error:")], [], "no error line")
    finally:
        if vm.poll() is None:
            vm.kill()
            vm.wait()
        if c.failed:
            print("    $ " + " ".join(argv))
            for line in text(out_path).splitlines()[-15:]:
                print("    | " + line)
            for line in text(err_path).splitlines()[-20:]:
                print("    ! " + line)
            log.seek(0)
            for line in log.read().splitlines()[-15:]:
                print("    tp| " + line)
        if tp.poll() is None:
            tp.send_signal(signal.SIGINT)
            try:
                tp.wait(timeout=20)
            except subprocess.TimeoutExpired:
                tp.kill()
                tp.wait()
        for base in ("/var/run/dpdk", "/tmp/dpdk"):
            shutil.rmtree(os.path.join(base, prefix), ignore_errors=True)
c.finish()

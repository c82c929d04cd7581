#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""--disk whose back-end is killed (SIGKILL) and restarted by hand, many
times, under the test guest's write/read/verify loop: splitvm reconnects
to the same socket path each time and replays the device state, so the
guest's loop completes every round with zero verify errors and never
sees DEVICE_NEEDS_RESET (it would stop the loop and report it).

argv: splitvm guest BACKEND CYCLES [split|packed]
BACKEND is the splitvm-blk program (inflight tracking: requests it had
taken are resubmitted by its successor) or "qsd" (qemu-storage-daemon 7.2,
no inflight region: a request in flight at the kill is taken again from
the available ring, at the used index, which holds for its in-order,
one-request-at-a-time use by this guest).

With packed rings (splitvm-blk only: qemu-storage-daemon offers none)
the position of a ring cannot be recovered: after each reconnect the
guest gets DEVICE_NEEDS_RESET, resets the device and runs the failed
round again (guest.blk_loop_recover=1); the loop must still verify
every round, with exactly one reset per kill."""

import os
import queue
import random
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import qsd  # noqa: E402
import splitvm_blk  # noqa: E402
import svmtest  # noqa: E402

splitvm, guest = (os.path.abspath(p) for p in sys.argv[1:3])
backend = sys.argv[3]
cycles = int(sys.argv[4])
ring = sys.argv[5] if len(sys.argv) > 5 else "split"
c = svmtest.Checker(f"blk_recover ({os.path.basename(backend)}, {cycles} kills, {ring})")
if backend == "qsd":
    qsd.require()
else:
    splitvm_blk.require(backend)
svmtest.require_kvm()

STARTED = "guest: blk loop started"
OK_RE = re.compile(r"guest: blk \S+ loop rounds=(\d+) ok resets=(\d+)")
STOPPED_RE = re.compile(r'guest: blk (\S+) loop stopped reason="([^"]*)"')
RECONNECTED_RE = re.compile(r"\[blk0\] reconnected to the vhost-user back-end")


def reader(stream, lines, q):
    for raw in iter(stream.readline, b""):
        lines.append(raw.decode(errors="replace").rstrip("\n"))
        q.put(1)
    q.put(None)


def wait_for(q, lines, pred, timeout):
    deadline = time.monotonic() + timeout
    while True:
        if any(pred(l) for l in list(lines)):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            q.get(timeout=min(left, 0.2))
        except queue.Empty:
            pass


def start(tmp, img, first):
    if backend == "qsd":
        # The daemon runs as root; splitvm, sandboxed, as nobody, which
        # must be able to connect to the new socket.
        os.chmod(tmp, 0o755)
        be = qsd.Export(tmp, fresh=first)
        if os.path.exists(be.sock):
            os.chmod(be.sock, 0o777)
        return be
    if first:
        os.chmod(tmp, 0o755)
        with open(img, "wb") as f:
            f.truncate(64 << 20)
    return splitvm_blk.Backend(backend, tmp, img)


with tempfile.TemporaryDirectory() as tmp:
    img = os.path.join(tmp, "disk.img")
    be = start(tmp, img, True)
    sock = be.sock
    vm = None
    try:
        c.check(be.running(), "the back-end runs")
        # Long enough for every kill; requests wait out a restart.
        loop_ms = cycles * 16000 + 10000
        argv = [splitvm] + (["-v"] if os.environ.get("RC_VERBOSE") else []) + ["--kernel", guest, "--memory", "64M",
                "--disk", f"socket={sock}",
                "--cmdline", f"guest.ticks=1 guest.blk=1 guest.ring={ring} "
                f"guest.blk_loop_ms={loop_ms} guest.blk_loop_timeout_ms=60000"
                + (" guest.blk_loop_recover=1" if ring == "packed" else "")]
        vm = subprocess.Popen(argv, cwd=tmp, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err, q = [], [], queue.Queue()
        for stream, lines in ((vm.stdout, out), (vm.stderr, err)):
            threading.Thread(target=reader, args=(stream, lines, q),
                             daemon=True).start()
        if not c.check(wait_for(q, out, lambda l: l == STARTED, 60),
                       f"the guest reports '{STARTED}'"):
            raise RuntimeError("no loop")

        done = 0
        outage = []     # kill to 'reconnected' seen, restart time included
        rng = random.Random(7)
        t0 = time.monotonic()
        for i in range(cycles):
            if vm.poll() is not None or any(OK_RE.search(l) for l in out):
                break
            # Up a while (over 1 s): not a crash loop, fast reconnects.
            time.sleep(rng.uniform(1.1, 1.6))
            t_kill = time.monotonic()
            be.proc.kill()
            be.proc.wait()
            if os.path.exists(sock):
                os.unlink(sock)
            # A moment with nobody listening: the core retries.
            time.sleep(rng.uniform(0.0, 0.3))
            be = start(tmp, img, False)
            if not c.check(wait_for(q, err, lambda l, n=i + 1: sum(
                    1 for x in list(err) if RECONNECTED_RE.search(x)) >= n, 60),
                    f"kill {i + 1}: splitvm reconnects", f"{time.monotonic() - t_kill:.1f}s after the kill"):
                break
            outage.append(time.monotonic() - t_kill)
            done += 1
        took = time.monotonic() - t0
        print(f"  info {done} kill/restart cycles in {took:.1f}s")
        if outage:
            outage.sort()
            print(f"  info kill to reconnected (back-end start included, "
                  f"indicative): median {outage[len(outage) // 2]:.2f}s, "
                  f"min {outage[0]:.2f}s, max {outage[-1]:.2f}s")
        c.equal(done, cycles, "every kill cycle ran inside the guest's loop")

        ok = wait_for(q, out, lambda l: OK_RE.search(l) or STOPPED_RE.search(l),
                      loop_ms / 1000 + 120)
        try:
            vm.wait(timeout=120)
        except subprocess.TimeoutExpired:
            vm.kill()
            vm.wait()
        m = next((OK_RE.search(l) for l in out if OK_RE.search(l)), None)
        c.check(m is not None, "the guest's loop completed: every round verified",
                "\n".join(l for l in out if "blk" in l)[-2000:])
        if m:
            print(f"  info guest loop rounds={m.group(1)} resets={m.group(2)}")
            if ring == "packed":
                c.equal(int(m.group(2)), done,
                        "packed: one reset after DEVICE_NEEDS_RESET per kill")
            else:
                c.equal(int(m.group(2)), 0, "split: the guest never reset")
        c.check(not any(STOPPED_RE.search(l) for l in out),
                "the guest's loop never stopped (needs-reset or a timeout)")
        c.check(not any("mismatch" in l or "FAIL" in l for l in out),
                "no verify error in the guest")
        c.equal(vm.returncode, svmtest.EXIT_POWEROFF, "splitvm exits 0 (guest PASS)")
        n = sum(1 for l in err if RECONNECTED_RE.search(l))
        c.equal(n, done, "one 'reconnected' line per restart")
        bad = [l for l in err if re.match(r"splitvm: error:", l)]
        c.equal(bad, [], "no error line from splitvm")
    except RuntimeError:
        pass
    finally:
        if vm is not None and vm.poll() is None:
            vm.kill()
            vm.wait()
        if vm is not None and (c.failed or vm.returncode != svmtest.EXIT_POWEROFF):
            print("    $ " + " ".join(argv))
            for l in (out[-40:] if vm else []):
                print("    | " + l)
            for l in (err[-int(os.environ.get("RC_ERR_LINES", "40")):] if vm else []):
                print("    ! " + l)
            if hasattr(be, "logpath"):
                with open(be.logpath) as f:
                    for l in f.read().splitlines()[-20:]:
                        print("    blk| " + l)
        be.proc.kill()
        be.proc.wait()
        if hasattr(be, "stop"):
            be.stop()
c.finish()

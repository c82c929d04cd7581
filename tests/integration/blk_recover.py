#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""--disk whose back-end is killed (SIGKILL) and restarted by hand, many
times, under the test guest's write/read/verify loop: splitvm reconnects
to the same socket path each time and replays the device state, so the
guest's loop completes every round with zero verify errors and never
sees DEVICE_NEEDS_RESET (it would stop the loop and report it).

argv: splitvm guest BACKEND CYCLES [split|packed] [DEPTH]
BACKEND is the splitvm-blk program (inflight tracking: requests it had
taken are resubmitted by its successor) or "qsd" (qemu-storage-daemon 7.2,
no inflight region: a request in flight at the kill is taken again from
the available ring, at the used index, which holds for its in-order,
one-request-at-a-time use by this guest).

Packed rings (splitvm-blk only: qemu-storage-daemon offers none) resume
from the inflight region the core keeps: the guest never resets either.
DEPTH > 1 (guest.blk_loop_depth) keeps up to DEPTH writes and then up to
21 reads in flight in every round, so kills land on requests in flight
that complete out of order; how many the new back-ends resubmitted is
printed (it depends on where each kill lands, so it is not asserted).
With thousands of rounds before the first kill, every ring has wrapped
many times over (checked)."""

import os
import queue
import random
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import qsd  # noqa: E402
import splitvm_blk  # noqa: E402
import svmtest  # noqa: E402

splitvm, guest = (os.path.abspath(p) for p in sys.argv[1:3])
backend = sys.argv[3]
cycles = int(sys.argv[4])
ring = sys.argv[5] if len(sys.argv) > 5 else "split"
depth = int(sys.argv[6]) if len(sys.argv) > 6 else 1
c = svmtest.Checker(f"blk_recover ({os.path.basename(backend)}, {cycles} kills, {ring}, depth {depth})")
if backend == "qsd":
    qsd.require()
else:
    splitvm_blk.require(backend)
svmtest.require_kvm()

STARTED = "guest: blk loop started"
OK_RE = re.compile(r"guest: blk \S+ loop rounds=(\d+) ok resets=(\d+)")
STOPPED_RE = re.compile(r'guest: blk (\S+) loop stopped reason="([^"]*)"')
RECONNECTED_RE = re.compile(r"\[blk0\] reconnected to the vhost-user back-end")


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
    # Deep rounds: O_DIRECT, so requests stay in flight long enough
    # (disk latency, not the page cache) for kills to find some.
    return splitvm_blk.Backend(backend, tmp, img,
                               args=(["--direct"] if depth > 1 else []) +
                               ["-v"])     # its resume position


with tempfile.TemporaryDirectory() as tmp:
    img = os.path.join(tmp, "disk.img")
    be = start(tmp, img, True)
    sock = be.sock
    vm = None
    argv, out, err = [], [], []
    try:
        c.check(be.running(), "the back-end runs")
        # Long enough for every kill; requests wait out a restart.
        loop_ms = cycles * 16000 + 10000
        # -v: the core's debug line with each ring's resume position.
        argv = [splitvm, "-v", "--kernel", guest, "--memory", "64M",
                "--disk", f"socket={sock}",
                "--cmdline", f"guest.ticks=1 guest.blk=1 guest.ring={ring} "
                f"guest.blk_loop_ms={loop_ms} guest.blk_loop_timeout_ms=60000 "
                f"guest.blk_loop_depth={depth}"]
        vm, q = svmtest.start_live_run(argv, tmp, out, err)
        if not c.check(wait_for(q, out, lambda l: l == STARTED, 60),
                       f"the guest reports '{STARTED}'"):
            raise RuntimeError("no loop")

        done = 0
        be_logs = []    # each killed back-end's log
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
            if hasattr(be, "logpath"):
                # The next back-end writes the same file.
                with open(be.logpath) as f:
                    be_logs.append(f.read())
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
            c.equal(int(m.group(2)), 0, f"{ring}: the guest never reset")
            # A round is 2 requests (DEPTH > 1: 2 DEPTH + 8 DEPTH) of
            # 3 descriptors in a ring of 64: many laps per second.
            c.check(int(m.group(1)) > 64 * done,
                    "the rings wrapped between kills", f"{m.group(1)} rounds")
        # The last back-end's log too, once the guest is done.
        if hasattr(be, "logpath"):
            with open(be.logpath) as f:
                be_logs.append(f.read())
        if os.environ.get("RC_VERBOSE"):
            for i, log in enumerate(be_logs):
                print("".join(f"    blk{i}| {l}\n" for l in log.splitlines()
                              if "queue" in l))
        if ring == "packed" and backend != "qsd":
            # The core reads the position from the region as the
            # back-end does: the same avail (wrap in bit 15) and used.
            core = [(int(a) | int(w) << 15, int(u)) for a, w, u in re.findall(
                r"queue 0 resumes at packed avail (\d+) wrap (\d) used (\d+)",
                "\n".join(err).replace(",", ""))]
            back = [(int(a), int(u)) for log in be_logs[1:] for a, u in
                    re.findall(r"queue 0: size \d+, avail (\d+), used (\d+)", log)]
            c.equal(core, back, "the core's packed base is the one the back-end resumed at")
        resub = [int(n) for log in be_logs for n in re.findall(
            r"resubmitting (\d+) request\(s\) left in flight", log)]
        print(f"  info {len(resub)} of {done} restarts resubmitted requests "
              f"left in flight ({sum(resub)} in all)")

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
        svmtest.end_live_run(c, vm, argv, out, err, be,
                             err_lines=int(os.environ.get("RC_ERR_LINES", "40")))
c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""--disk whose back-end dies under load and never comes back:
qemu-storage-daemon exports a raw file, the test guest runs its block
test and then a write/read/verify loop; a second into the loop the
daemon is SIGKILLed and not restarted.  splitvm must stay up, log one
line naming blk0 and the socket as lost, keep trying to reconnect (one
rate-limited line about it) without telling the driver (no
DEVICE_NEEDS_RESET: the guest's own request time-out stops its loop,
reason timeout), and exit 0 once the guest reports PASS through its
debug exit: no crash, no core dump, no cascade of errors.  Restarted
back-ends are blk_recover.py's.
With a third argument (the splitvm-blk program) the back-end killed is
splitvm-blk, run as uid 65534, instead of qemu-storage-daemon."""

import glob
import os
import queue
import re
import signal
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
blk_exe = sys.argv[3] if len(sys.argv) > 3 else None
c = svmtest.Checker("splitvm_blk_kill" if blk_exe else "vhost_user_blk_kill")
if blk_exe:
    splitvm_blk.require(blk_exe)
else:
    qsd.require()
svmtest.require_kvm()


def start_backend(tmp):
    """qemu-storage-daemon, or splitvm-blk on a fresh 64 MiB image."""
    if not blk_exe:
        return qsd.Export(tmp), "qemu-storage-daemon"
    os.chmod(tmp, 0o755)
    img = os.path.join(tmp, "disk.img")
    with open(img, "wb") as f:
        f.truncate(64 << 20)
    return splitvm_blk.Backend(blk_exe, tmp, img), "splitvm-blk"

STARTED = "guest: blk loop started"
STOPPED_RE = re.compile(r'guest: blk (\S+) loop stopped reason="([^"]*)" rounds=(\d+)')
# Bounds: the loop runs 5-20 s unless stopped; the guest's requests time
# out after 2000 "ms" of TSC; booting and the first block test are quick.
START_TIMEOUT = 60
EXIT_TIMEOUT = 60


def reader(stream, name, lines, q):
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace").rstrip("\n")
        lines.append(line)
        q.put((name, line))
    q.put((name, None))


def wait_for(q, lines, pred, deadline):
    """Wait until pred holds for a line seen so far in lines (one stream,
    whatever was read while waiting for something else included); False
    at the deadline or once both streams ended without it."""
    while True:
        if any(pred(line) for line in list(lines)):
            return True
        left = deadline - time.monotonic()
        if left <= 0 or not any(t.is_alive() for t in threads):
            return any(pred(line) for line in list(lines))
        try:
            q.get(timeout=min(left, 0.2))
        except queue.Empty:
            pass


def dump(argv, status, out, err):
    print("    $ " + " ".join(argv))
    print(f"    exit status {status}")
    for line in out[-60:]:
        print("    | " + line)
    for line in err[-30:]:
        print("    ! " + line)


with tempfile.TemporaryDirectory() as tmp:
    export, name = start_backend(tmp)
    sock = export.sock
    vm = None
    try:
        if not c.check(export.running(), f"{name} is running"):
            print(export.stop())
            c.finish()

        argv = [splitvm, "--kernel", guest, "--memory", "64M",
                "--disk", f"socket={sock}",
                "--cmdline", "guest.ticks=1 guest.blk=1 "
                             "guest.blk_loop_ms=20000 guest.blk_loop_expect=stop"]
        # Its own cwd, so a core dump would land where we look.
        vm = subprocess.Popen(argv, cwd=tmp, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err, q = [], [], queue.Queue()
        threads = [threading.Thread(target=reader, args=(vm.stdout, "out", out, q),
                                    daemon=True),
                   threading.Thread(target=reader, args=(vm.stderr, "err", err, q),
                                    daemon=True)]
        for t in threads:
            t.start()

        started = wait_for(q, out, lambda l: l == STARTED,
                           time.monotonic() + START_TIMEOUT)
        if not c.check(started, f"the guest reports '{STARTED}'",
                       "the guest lacks guest.blk_loop_ms, or its block test failed"):
            vm.kill()
            vm.wait()
            for t in threads:
                t.join(5)
            dump(argv, vm.returncode, out, err)
            c.finish()

        time.sleep(1.0)
        c.check(vm.poll() is None, "the guest is still looping a second later")
        killed_at = time.monotonic()
        export.proc.send_signal(signal.SIGKILL)
        export.proc.wait()

        lost = re.compile(r"\[blk0\].*" + re.escape(sock))
        logged = wait_for(q, err, lambda l: lost.search(l)
                          and ("fail" in l or "lost" in l),
                          killed_at + 10)
        c.check(logged, "splitvm logs the back-end of blk0 on the socket as lost")
        c.check(vm.poll() is None or vm.returncode == svmtest.EXIT_POWEROFF,
                "splitvm stays up after the back-end died",
                f"exit status {vm.returncode}")

        stopped = wait_for(q, out, lambda l: STOPPED_RE.search(l),
                           killed_at + EXIT_TIMEOUT)
        try:
            vm.wait(timeout=max(1, killed_at + EXIT_TIMEOUT - time.monotonic()))
        except subprocess.TimeoutExpired:
            vm.kill()
            vm.wait()
        for t in threads:
            t.join(5)
        took = time.monotonic() - killed_at

        m = next((STOPPED_RE.search(l) for l in out if STOPPED_RE.search(l)), None)
        ok = c.check(stopped and m is not None, "the guest reports 'loop stopped'")
        if m:
            reason = m.group(2)
            print(f"  info guest loop stopped: reason={reason} rounds={m.group(3)} "
                  f"({took:.1f}s after the kill)")
            ok &= c.equal(reason, "timeout",
                          "the guest timed out; it never saw DEVICE_NEEDS_RESET")
        ok &= c.equal(vm.returncode, svmtest.EXIT_POWEROFF,
                      f"splitvm exits 0 (guest PASS) within {EXIT_TIMEOUT}s of the kill")
        ok &= c.check(vm.returncode not in (svmtest.EXIT_CRASH,) and vm.returncode >= 0,
                      "splitvm did not crash or die of a signal",
                      f"exit status {vm.returncode}")
        cores = glob.glob(os.path.join(tmp, "core*"))
        ok &= c.equal(cores, [], "no core dump")
        bad = [l for l in err if re.match(r"splitvm: (error|warning):", l)]
        about = [l for l in bad if "blk0" in l or sock in l or "vhost-user" in l]
        ok &= c.check(len(about) <= 2,
                      "at most two warning lines about the lost back-end "
                      "(lost; reconnect attempts failing, rate-limited)",
                      "\n".join(about))
        ok &= c.check(sum(1 for l in err if lost.search(l)
                          and " lost " in l) == 1,
                      "exactly one line names blk0 and the socket as lost")
        ok &= c.check(not any(re.search(r"(?i)assert|segfault|abort", l) for l in err),
                      "no assertion or crash message on stderr")
        if not ok:
            dump(argv, vm.returncode, out, err)
        else:
            for line in err:
                print("    ! " + line)
    finally:
        if vm is not None and vm.poll() is None:
            vm.kill()
            vm.wait()
        export.stop()

c.finish()

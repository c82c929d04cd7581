#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-blk killed (SIGKILL) and restarted while the guest leaves its
started device idle, rings already wrapped by the block test before it:
the core resumes every ring where it stood (for packed rings: read from
the inflight region, no request in flight) and the guest, once its idle
window ends, runs its write/read/verify pass again on the new back-end
without a reset or an error (guest.blk_idle_verify=1).

argv: splitvm guest splitvm-blk [split|packed]"""

import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import splitvm_blk  # noqa: E402
import svmtest  # noqa: E402

splitvm, guest, backend = (os.path.abspath(p) for p in sys.argv[1:4])
ring = sys.argv[4] if len(sys.argv) > 4 else "packed"
c = svmtest.Checker(f"blk_recover_idle ({ring})")
splitvm_blk.require(backend)
svmtest.require_kvm()

IDLE = "guest: blk idle start"
PASS_RE = re.compile(r"guest: blk \S+ idle pass verified=(\d+)")
RECONNECTED_RE = re.compile(r"\[blk0\] reconnected to the vhost-user back-end")
RESUME_RE = re.compile(r"queue 0 resumes at packed avail (\d+) wrap (\d), "
                       r"used (\d+) wrap (\d)")


def wait_for(lines, pred, timeout):
    return svmtest.wait_until(lambda: any(pred(l) for l in list(lines)),
                              timeout)


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    img = os.path.join(tmp, "disk.img")
    with open(img, "wb") as f:
        f.truncate(64 << 20)
    be = splitvm_blk.Backend(backend, tmp, img, args=["-v"])
    sock = be.sock
    vm = None
    argv, out, err = [], [], []
    try:
        c.check(be.running(), "the back-end runs")
        # The idle window is TSC "ms" at 1 GHz: 5 to 20 s here, long
        # enough for a restart (about 1.5 s).
        argv = [splitvm, "-v", "--kernel", guest, "--memory", "64M",
                "--disk", f"socket={sock}",
                "--cmdline", f"guest.ticks=1 guest.blk=1 guest.ring={ring} "
                "guest.blk_idle_ms=20000 guest.blk_idle_verify=1"]
        vm, _ = svmtest.start_live_run(argv, tmp, out, err)
        if not c.check(wait_for(out, lambda l: l.startswith(IDLE), 120),
                       f"the guest reports '{IDLE}'"):
            raise RuntimeError("no idle window")
        # 48 requests of up to 3 descriptors went through the ring of 64.
        be.proc.kill()
        be.proc.wait()
        with open(be.logpath) as f:
            first_log = f.read()
        os.unlink(sock)
        be = splitvm_blk.Backend(backend, tmp, img, args=["-v"])
        c.check(wait_for(err, lambda l: RECONNECTED_RE.search(l), 60),
                "splitvm reconnects while the guest is idle")
        c.check(not any(PASS_RE.search(l) for l in out),
                "... before the idle window ended")
        try:
            vm.wait(timeout=180)
        except subprocess.TimeoutExpired:
            vm.kill()
            vm.wait()
        time.sleep(0.2)     # the readers drain
        c.equal(vm.returncode, svmtest.EXIT_POWEROFF, "splitvm exits 0 (guest PASS)")
        m = next((PASS_RE.search(l) for l in out if PASS_RE.search(l)), None)
        c.check(m is not None and int(m.group(1)) > 0,
                "the guest's pass after the idle window verified every sector")
        c.check(not any("needs reset" in l or "FAIL" in l for l in out),
                "the guest saw no DEVICE_NEEDS_RESET and no error")
        c.check("left in flight" not in first_log + open(be.logpath).read(),
                "nothing was in flight")
        if ring == "packed":
            res = [RESUME_RE.search(l) for l in err if RESUME_RE.search(l)]
            c.equal(len(res), 1, "the core resumed the packed ring once")
            if res:
                a, aw, u, uw = (int(x) for x in res[0].groups())
                print(f"  info resumed at avail {a} wrap {aw}, used {u} wrap {uw}")
                c.check((a, aw) == (u, uw), "idle: avail and used at the same position")
                # The block test's 48 requests of 2 or 3 descriptors
                # each went past the first lap of 64 (by construction).
                c.check((a, aw) != (0, 1), "not the initial position")
                back = re.findall(r"queue 0: size \d+, avail (\d+), used (\d+)",
                                  open(be.logpath).read())
                c.check(back and (int(back[0][0]), int(back[0][1])) ==
                        (a | aw << 15, u),
                        "the back-end resumed where the core said", str(back))
        bad = [l for l in err if re.match(r"splitvm: error:", l)]
        c.equal(bad, [], "no error line from splitvm")
    except RuntimeError:
        pass
    finally:
        svmtest.end_live_run(c, vm, argv, out, err, be)
c.finish()

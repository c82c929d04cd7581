#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-drive --reconnect against splitvm-blk, split rings on one
queue and packed rings on two: a verify run (random reads and writes, a FLUSH every 8 writes, 16 in
flight) while splitvm-blk is SIGKILLed three times and started again on
the same socket and image.  The driver hands the inflight region back;
the run must end with status 0, three reconnects, no verify or I/O
error, and the whole disk read back (a request completed twice would
break the driver's ring, one lost would stall it).

Usage: drive_blk_reconnect.py SPLITVM-DRIVE SPLITVM-BLK"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import splitvm_blk  # noqa: E402
import svmtest  # noqa: E402

drive, blk_exe = sys.argv[1], sys.argv[2]
c = svmtest.Checker("drive_blk_reconnect")
splitvm_blk.require(blk_exe)
if not os.path.exists(drive):
    svmtest.skip("splitvm-drive was not built")

SIZE = 4 << 20


def crash_loop(tmp, packed):
    t = "packed, 2 queues: " if packed else "split: "
    nq = 2 if packed else 1
    img = os.path.join(tmp, f"disk{int(packed)}.img")
    with open(img, "wb") as f:
        f.truncate(SIZE)
    os.chmod(img, 0o600)
    name = f"rc{int(packed)}"
    be_args = ["--num-queues", str(nq)]
    be = splitvm_blk.Backend(blk_exe, tmp, img, args=be_args, name=name)
    logs = []
    args = [drive, "-s", be.sock, "--verify", "--rw", "randrw", "--iodepth", "16",
            "--fsync", "8", "--runtime", "10", "--reconnect", "20000", "--json",
            "--no-progress", "--queues", str(nq)] + (["--packed"] if packed else [])
    drv = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    def serving(be):
        """Wait until the driver's device runs on be, then a moment of I/O."""
        for _ in range(200):
            if f"started {nq} queue(s)" in be.text() or drv.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(0.7)

    try:
        for _ in range(3):
            serving(be)
            be.proc.send_signal(signal.SIGKILL)
            be.proc.wait()
            logs.append(be.stop()[1])
            be = splitvm_blk.Backend(blk_exe, tmp, img, args=be_args, name=name)
        out, err = drv.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        drv.kill()
        out, err = drv.communicate()
    finally:
        logs.append(be.stop()[1])
    resubmitted = sum(int(m) for log in logs
                      for m in re.findall(r"resubmitting (\d+)", log))
    try:
        d = json.loads(out)
    except ValueError:
        d = None
    c.equal(drv.returncode, 0, t + "the verify run ends with status 0")
    c.check(d is not None and d["reconnects"] == 3,
            t + f"the driver reconnected 3 times ({d and d['reconnects']})",
            (out + err)[-600:] + logs[-1][-600:])
    if d:
        ph = d["phases"]
        c.check(all(p["verify_errors"] == 0 and p["io_errors"] == 0
                    for p in ph.values()) and
                ph.get("readback", {}).get("verified") == SIZE // 4096,
                t + "no verify or I/O error, the whole disk read back")
        c.check(ph.get("main", {}).get("flush", {}).get("ios", 0) > 0,
                t + "FLUSHes were in the mix")
    print(f"  info {t}{resubmitted} request(s) resubmitted after the kills")


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    try:
        for packed in (False, True):
            crash_loop(tmp, packed)
    finally:
        for b in splitvm_blk.Backend.started:
            if b.running():
                b.stop()

c.finish()

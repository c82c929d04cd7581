#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-drive against splitvm-blk (as uid 65534, image by fd) with two
queues, split and packed rings, polling and sleeping on eventfds.

splitvm-drive sets up and enables its rings one at a time, so
librte_vhost reports the device ready after the first ring only; the
back-end must still serve the second ring when it becomes ready (it used
to leave it alone and the driver timed out).  Each run is a verify run
over the whole disk (fill, random mix checked, readback); every queue
must have completed requests, nothing may fail, and afterwards every
block of the raw file holds the driver's pattern.  Then a plain read job
on two queues, reconnecting to the same back-end, and the back-end's
SIGUSR1 stats show both queue threads.  Last, a QD32 verify run against
a --direct back-end (O_DIRECT requests are submitted one by one)."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import drive_pattern  # noqa: E402
import splitvm_blk  # noqa: E402
import svmtest  # noqa: E402

drive, blk_exe = sys.argv[1:3]
c = svmtest.Checker("splitvm_blk_drive")
splitvm_blk.require(blk_exe)

DISK = 4 << 20
BS = 4096


def run_drive(args, timeout=120):
    try:
        p = subprocess.run([drive] + args + ["--json", "--no-progress"],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, None, "timed out"
    try:
        data = json.loads(p.stdout)
    except ValueError:
        data = None
    return p.returncode, data, p.stderr


def verify_run(be, what, args, queues):
    """One verify run; its checks.  True if all passed."""
    rc, d, err = run_drive(["-s", be.sock, "--verify", "--timeout", "10000"]
                           + args)
    ok = c.equal(rc, 0, f"{what}: status 0")
    ok &= c.check(d is not None and d.get("error") is None,
                  f"{what}: JSON summary without error", err[-500:])
    if d and "phases" in d:
        ph = d["phases"]
        main = ph["main"]
        ok &= c.check(len(main["queue_ios"]) == queues and
                      all(x > 0 for x in main["queue_ios"]),
                      f"{what}: every queue completed requests",
                      str(main["queue_ios"]))
        ok &= c.equal(ph["readback"]["verified"], DISK // BS,
                      f"{what}: every block read back and checked")
        ok &= c.equal(sum(p["io_errors"] + p["unsupported"] +
                          p["verify_errors"] for p in ph.values()),
                      0, f"{what}: no I/O or verify errors")
    if not ok:
        print(err, be.text()[-2000:])
    return ok


def direct_qd32(tmp):
    """--direct submits each request on its own: a QD32 verify run (32
    requests taken per scan, each its own io_uring_enter) on an O_DIRECT
    image, then the raw file checked."""
    img = os.path.join(tmp, "direct.img")
    with open(img, "wb") as f:
        f.truncate(DISK)
    be = splitvm_blk.Backend(blk_exe, tmp, img, args=["--direct"],
                             name="direct")
    try:
        if not be.running() and "O_DIRECT" in be.text():
            # Not a pass: nothing about --direct was checked.
            print(f"  info --direct not checked: {tmp} has no O_DIRECT")
            return
        if not c.check(be.running(), "--direct: the back-end runs",
                       be.text()[-300:]):
            return
        seed = 7100
        verify_run(be, "--direct verify randrw QD32", [
            "--rw", "randrw", "--iodepth", "32", "--seed", str(seed)], 1)
        c.equal(drive_pattern.bad_blocks(img, seed, DISK, BS)[:10], [],
                f"--direct: the raw file holds the driver's pattern "
                f"(seed {seed})")
    finally:
        status, _ = be.stop()
    c.equal(status, 0, "--direct: splitvm-blk exits 0 on SIGTERM")


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    img = os.path.join(tmp, "disk.img")
    with open(img, "wb") as f:
        f.truncate(DISK)
    be = splitvm_blk.Backend(blk_exe, tmp, img, args=["--num-queues", "2"])
    try:
        if not c.check(be.running() and os.path.exists(be.sock),
                       "splitvm-blk listens with --num-queues 2", be.text()):
            c.finish()
        seed = None
        for n, (ring, wait) in enumerate((("split", "poll"),
                                          ("packed", "event"))):
            seed = 7000 + n
            args = ["--rw", "randrw", "--iodepth", "8", "--queues", "2",
                    "--seed", str(seed), "--wait", wait]
            if ring == "packed":
                args.append("--packed")
            verify_run(be, f"verify randrw QD8 2q {ring} {wait}", args, 2)
        c.equal(drive_pattern.bad_blocks(img, seed, DISK, BS)[:10], [],
                f"the raw file holds the driver's pattern (seed {seed})")

        # A plain job on a new connection to the same back-end; its stats
        # (SIGUSR1, printed while the device runs) list both queues.
        p = subprocess.Popen([drive, "-s", be.sock, "--rw", "randread",
                              "--iodepth", "4", "--queues", "2",
                              "--runtime", "2", "--json", "--no-progress"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        time.sleep(1)
        be.proc.send_signal(signal.SIGUSR1)
        out, err = p.communicate(timeout=60)
        try:
            d = json.loads(out)
        except ValueError:
            d = None
        c.check(p.returncode == 0 and d and
                all(x > 0 for x in d["phases"]["main"]["queue_ios"]),
                "randread 2q for 2 s: both queues served", err[-500:])
        time.sleep(0.2)
        text = be.text()
        c.check("queue 0:" in text and "queue 1:" in text,
                "SIGUSR1 stats list queue 0 and queue 1", text[-1500:])
    finally:
        status, text = be.stop()
    c.equal(status, 0, "splitvm-blk exits 0 on SIGTERM")
    direct_qd32(tmp)
c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-drive against a back-end that breaks the protocol on purpose
(tests/pylib/fake_vhost_blk.py): a used id out of range, a used length
beyond the chain, a completion of a request not in flight, a missing
status byte, a used index running ahead, a stall and a hang-up, each
after some good requests, with polling and with eventfd waits.  Every
one must end the run with status 1 and a line saying what went wrong,
never a crash, never a hang.  The same fake serving correctly passes a
verify run, so the failures are the faults, not the fake.  The same on
packed rings.  Then --probe
against the careful fake, and a crash loop: the fake killed with -9 and
restarted under a --reconnect verify run."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import svmtest  # noqa: E402

drive = sys.argv[1]
FAKE = os.path.join(os.path.dirname(__file__), "..", "pylib", "fake_vhost_blk.py")
c = svmtest.Checker("drive_fake_backend")

# fault -> what the driver must say
EXPECT = {
    "none": None,
    "id_range": "out of range",
    "len": "writable bytes",
    # The driver may already have reused the head for a new request: then
    # the duplicate shows as that request's unwritten status byte.
    "duplicate": ("not a chain in flight", "did not write it"),
    "no_status": "did not write it",
    "idx_jump": "ahead",
    "stall": "completed nothing for",
    "hangup": "closed the connection",
}

with tempfile.TemporaryDirectory() as tmp:
    for fault, want in EXPECT.items():
        for wait in ("poll", "event"):
            sock = os.path.join(tmp, f"{fault}-{wait}.sock")
            fake = subprocess.Popen([sys.executable, FAKE, sock, fault, "20"])
            try:
                for _ in range(100):
                    if os.path.exists(sock):
                        break
                    time.sleep(0.05)
                start = time.monotonic()
                p = subprocess.run([drive, "-s", sock, "--rw", "randrw",
                                    "--iodepth", "4", "--count", "300",
                                    "--verify", "--timeout", "2000",
                                    "--wait", wait, "--no-progress"],
                                   capture_output=True, text=True, timeout=60)
                took = time.monotonic() - start
            except subprocess.TimeoutExpired:
                c.check(False, f"{fault}/{wait}: the driver ends (no hang)")
                continue
            finally:
                fake.kill()
                fake.wait()
            what = f"{fault}/{wait}"
            if want is None:
                c.equal(p.returncode, 0, f"{what}: a correct back-end passes verify")
                continue
            c.equal(p.returncode, 1, f"{what}: status 1 (error, not a crash)")
            wants = want if isinstance(want, tuple) else (want,)
            c.check(any(w in p.stderr for w in wants),
                    f"{what}: stderr says {' or '.join(map(repr, wants))}",
                    p.stderr.strip()[-400:])
            c.check("FAILED" in p.stdout, f"{what}: the summary says FAILED",
                    p.stdout[-200:])
            c.check(took < 30, f"{what}: ended in {took:.1f} s")

    # Packed rings: a verify run passes, and broken used descriptors are
    # caught the same way.
    for fault, want in (("none", None), ("id_range", "out of range"),
                        ("len", "writable bytes"),
                        ("duplicate", ("not in flight", "did not write it"))):
        sock = os.path.join(tmp, f"packed-{fault}.sock")
        fake = subprocess.Popen([sys.executable, FAKE, sock, fault, "20"])
        try:
            for _ in range(100):
                if os.path.exists(sock):
                    break
                time.sleep(0.05)
            p = subprocess.run([drive, "-s", sock, "--packed", "--rw", "randrw",
                                "--iodepth", "8", "--count", "600", "--fsync", "8",
                                "--verify", "--timeout", "2000", "--no-progress"],
                               capture_output=True, text=True, timeout=60)
        finally:
            fake.kill()
            fake.wait()
        what = f"packed/{fault}"
        if want is None:
            c.equal(p.returncode, 0, f"{what}: verify with FLUSHes passes",)
            continue
        wants = want if isinstance(want, tuple) else (want,)
        c.equal(p.returncode, 1, f"{what}: status 1")
        c.check(any(w in p.stderr for w in wants),
                f"{what}: stderr says {' or '.join(map(repr, wants))}",
                p.stderr.strip()[-300:])

    # --probe against the fake serving carefully: every verdict passes, so
    # the driver's judgement of a good back-end is checked too.
    sock = os.path.join(tmp, "probe.sock")
    fake = subprocess.Popen([sys.executable, FAKE, sock, "none", "0"])
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        p = subprocess.run([drive, "-s", sock, "--probe", "--timeout", "2000"],
                           capture_output=True, text=True, timeout=120)
    finally:
        fake.kill()
        fake.wait()
    c.equal(p.returncode, 0, "--probe against a careful back-end: status 0")
    c.check("probe: 0 of 15 failed" in p.stdout,
            "--probe: every verdict passes", p.stdout + p.stderr[-300:])

    # Crash loop: kill -9 the back-end three times during a verify run with
    # writes and FLUSHes in flight and start it again on the same socket
    # and disk file; with --reconnect the driver hands back the inflight
    # buffer, the fake resubmits what it had taken, and the run ends with
    # no verify error and no request completed twice (the ring would say).
    sock = os.path.join(tmp, "crash.sock")
    disk = os.path.join(tmp, "crash.img")
    logs = []

    def start_fake():
        log = open(os.path.join(tmp, f"crash-fake{len(logs)}.log"), "w+")
        logs.append(log)
        return subprocess.Popen([sys.executable, FAKE, sock, "hold", "0",
                                 "8192", disk], stderr=log)

    fake = start_fake()
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    drv = subprocess.Popen([drive, "-s", sock, "--verify", "--rw", "randrw",
                            "--iodepth", "16", "--fsync", "8", "--runtime", "8",
                            "--reconnect", "20000", "--json", "--no-progress"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        time.sleep(2)
        for _ in range(3):
            fake.kill()
            fake.wait()
            time.sleep(0.2)
            fake = start_fake()
            time.sleep(1.5)
        out, err = drv.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        drv.kill()
        out, err = drv.communicate()
    finally:
        fake.kill()
        fake.wait()
    resubmitted = 0
    for log in logs:
        log.seek(0)
        resubmitted += sum(int(m) for m in re.findall(r"resubmitting (\d+)",
                                                       log.read()))
        log.close()
    try:
        d = json.loads(out)
    except ValueError:
        d = None
    ok = c.equal(drv.returncode, 0, "crash loop: the verify run ends with status 0")
    ok &= c.check(d is not None and d["reconnects"] == 3,
                  "crash loop: the driver reconnected 3 times",
                  (out + err)[-500:])
    if d:
        ph = d["phases"]
        ok &= c.check(all(p["verify_errors"] == 0 and p["io_errors"] == 0
                          for p in ph.values()) and
                      ph["readback"]["verified"] == 8192 * 512 // 4096,
                      "crash loop: no verify error, the whole disk read back")
        ok &= c.check(ph["main"]["flush"]["ios"] > 0,
                      "crash loop: FLUSHes were in the mix")
    ok &= c.check(resubmitted > 0, "crash loop: the restarted back-end "
                  f"resubmitted requests it had taken ({resubmitted})")
    if not ok:
        print(err)

c.finish()

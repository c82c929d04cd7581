#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-drive --net against a third-party vhost-user net back-end,
DPDK's testpmd with its net_vhost PMD in macswap forwarding: every
numbered, checksummed frame the driver sends must come back intact
(addresses swapped, which the checksum does not cover), polling and with
eventfd waits, small and full-size frames, one at a time after a silent
gap (--gap-us); testpmd's own port counters
must show the frames passing.  Split and packed rings.  Then testpmd killed under
a running driver: it reports the hang-up (or the stall) with status 1."""

import glob
import json
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

drive = sys.argv[1]
c = svmtest.Checker("drive_net_testpmd")
TESTPMD = shutil.which("dpdk-testpmd")
if TESTPMD is None:
    svmtest.skip("dpdk-testpmd is not installed (Debian package dpdk-dev)")

prefix = f"splitvm-drive-test-{os.getpid()}"


def runtime_dirs():
    bases = ["/var/run/dpdk", "/tmp/dpdk"]
    if os.environ.get("XDG_RUNTIME_DIR"):
        bases.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "dpdk"))
    return [d for b in bases for d in glob.glob(os.path.join(b, prefix))]


def port0_stats(log):
    blocks = re.findall(r"Forward statistics for port 0\s+-+\s*\n"
                        r"\s*RX-packets:\s*(\d+).*?\n"
                        r"\s*TX-packets:\s*(\d+)", log)
    return tuple(map(int, blocks[-1])) if blocks else None


def start_testpmd(sock, log):
    eal = ["-l", "0,1", "--no-huge", "-m", "1024", "--no-pci",
           f"--file-prefix={prefix}",
           "--vdev", f"net_vhost0,iface={sock},queues=1"]
    if os.geteuid() != 0:
        eal += ["--no-shconf", "--iova-mode=va"]
    tp = subprocess.Popen(
        [TESTPMD] + eal +
        ["--", "--forward-mode=macswap", "--auto-start",
         "--total-num-mbufs=16384", "--no-mlockall", "--stats-period=1"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        if os.path.exists(sock) or tp.poll() is not None:
            break
        time.sleep(0.1)
    return tp


def stop(proc, sig=signal.SIGINT):
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_drive(args, timeout=120):
    p = subprocess.run([drive, "--net", "--json", "--no-progress"] + args,
                       capture_output=True, text=True, timeout=timeout)
    try:
        return p.returncode, json.loads(p.stdout), p.stderr
    except ValueError:
        return p.returncode, None, p.stderr + p.stdout


with tempfile.TemporaryDirectory() as tmp:
    sock = os.path.join(tmp, "net.sock")
    log = open(os.path.join(tmp, "testpmd.log"), "w+")
    tp = start_testpmd(sock, log)
    total = 0
    try:
        if not c.check(tp.poll() is None and os.path.exists(sock),
                       "testpmd is running and listening"):
            log.seek(0)
            print(log.read())
            c.finish()
        for args, what in (
                (["--count", "2000"], "2000 x 60 B, polling"),
                (["--count", "500", "--wait", "event", "--frame-size", "1514",
                  "--iodepth", "8"], "500 x 1514 B, eventfd waits"),
                (["--count", "300", "--iodepth", "1", "--no-event-idx"],
                 "300 x 60 B, depth 1, no event index"),
                (["--count", "3000", "--packed"], "packed ring, 3000 x 60 B"),
                (["--count", "500", "--packed", "--wait", "event",
                  "--frame-size", "1514", "--iodepth", "8"],
                 "packed ring, 500 x 1514 B, eventfd waits"),
                (["--count", "300", "--packed", "--no-event-idx",
                  "--wait", "event"],
                 "packed ring, 300 x 60 B, no event index, eventfd waits")):
            rc, d, err = run_drive(["-s", sock] + args)
            if not c.check(rc == 0 and d is not None and d["error"] is None,
                           f"{what}: status 0, no error", err[-400:]):
                continue
            n = int(args[1])
            total += d["sent"]
            c.check(d["sent"] == n and d["received"] == n and d["lost"] == 0,
                    f"{what}: every frame came back",
                    f"sent {d['sent']} received {d['received']}")
            c.check(d["damaged"] == 0 and d["foreign"] == 0,
                    f"{what}: none damaged, none foreign")
            r = d["rtt_ns"]
            c.check(r["count"] == n and r["min"] <= r["p50"] <= r["p99"] <=
                    r["max"], f"{what}: a round-trip time per frame, ordered",
                    json.dumps(r))
        rc, d, err = run_drive(["-s", sock, "--runtime", "1"])
        c.check(rc == 0 and d and d["sent"] > 0 and d["received"] > 0 and
                d["damaged"] == 0, "--runtime 1: frames sent and received",
                err[-300:])
        if d:
            total += d["sent"]
        # --gap-us: one frame at a time, each after 20 ms of silence. The
        # sleeps make 4 gaps between 5 frames a lower bound on the time.
        rc, d, err = run_drive(["-s", sock, "--gap-us", "20000", "--count",
                                "5", "--wait", "event"])
        if c.check(rc == 0 and d and d["error"] is None,
                   "--gap-us 20000: status 0", err[-300:]):
            total += d["sent"]
            c.check(d["sent"] == 5 and d["received"] == 5 and
                    d["rtt_ns"]["count"] == 5,
                    "--gap-us: 5 frames sent, all back with a round trip",
                    json.dumps(d))
            c.check(d["elapsed_s"] >= 0.08,
                    "--gap-us: the frames were spaced by the gap",
                    f"{d['elapsed_s']} s")
        p = subprocess.run([drive, "-s", sock, "--gap-us", "10"],
                           capture_output=True, text=True)
        c.equal(p.returncode, 2, "--gap-us without --net: usage error")
        p = subprocess.run([drive, "--net", "-s", sock, "--verify"],
                           capture_output=True, text=True)
        c.equal(p.returncode, 2, "--net --verify: usage error")
        c.check(tp.poll() is None, "testpmd survives the driver's runs")
    finally:
        stop(tp)
        log.seek(0)
        tp_log = log.read()
        log.close()
    stats = port0_stats(tp_log)
    if c.check(stats is not None, "testpmd printed its final statistics",
               tp_log[-1500:]):
        c.check(stats[0] >= total and stats[1] >= total,
                f"testpmd port 0 forwarded the {total} frames",
                f"RX {stats[0]} TX {stats[1]}")

    # The back-end goes away mid-run: status 1 and a line, no hang.
    os.unlink(sock) if os.path.exists(sock) else None
    log = open(os.path.join(tmp, "testpmd2.log"), "w+")
    tp = start_testpmd(sock, log)
    try:
        proc = subprocess.Popen([drive, "--net", "-s", sock, "--runtime", "30",
                                 "--timeout", "2000", "--no-progress"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        time.sleep(1.5)
        tp.kill()
        tp.wait()
        try:
            out, err = proc.communicate(timeout=30)
            c.equal(proc.returncode, 1, "testpmd killed mid-run: status 1")
            c.check("closed the connection" in err or "took no frame" in err,
                    "testpmd killed mid-run: the driver says why", err[-300:])
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            c.check(False, "testpmd killed mid-run: the driver ends")
    finally:
        stop(tp)
        log.close()
        for d in runtime_dirs():
            shutil.rmtree(d, ignore_errors=True)
    c.check(not runtime_dirs(), "testpmd's runtime directory is gone")

c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-drive against a third-party vhost-user-blk back-end,
qemu-storage-daemon exporting a small raw file with two queues: verify
runs over the whole disk in every rw mode, at QD1 and QD32, on 1 and 2
queues, polling and sleeping on eventfds; then the host reads the raw file
and checks that every block holds the driver's pattern (header with its
own offset and the last run's seed, zlib CRC-32 over the rest).  Also:
--count, --runtime and --fsync jobs, sane latency percentiles, a read-only export
refusing a write job before any I/O, --probe (bad requests answered with
the right status), --help and bad usage."""

import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import drive_pattern  # noqa: E402
import qsd  # noqa: E402
import svmtest  # noqa: E402

drive = sys.argv[1]
c = svmtest.Checker("drive_qsd")
qsd.require()

DISK = 4 << 20          # 1024 blocks of 4 KiB: a verify run is ~3k requests
BS = 4096


def run_drive(args, timeout=120):
    try:
        p = subprocess.run([drive] + args, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, None, "timed out"
    data = None
    if "--json" in args:
        try:
            data = json.loads(p.stdout)
        except ValueError:
            pass
    return p.returncode, data, p.stderr


with tempfile.TemporaryDirectory() as tmp:
    exp = qsd.Export(tmp, size=DISK, num_queues=2)
    ro = qsd.Export(tmp, size=DISK, writable=False, name="ro")
    try:
        if not c.check(exp.running() and ro.running(),
                       "qemu-storage-daemon is running (rw and ro exports)"):
            print(exp.stop(), ro.stop())
            c.finish()

        # --help tells the truth about what it does; bad usage is status 2.
        p = subprocess.run([drive, "--help"], capture_output=True, text=True)
        c.check(p.returncode == 0 and all(o in p.stdout for o in (
            "--socket", "--rw", "--bs", "--iodepth", "--queues", "--runtime",
            "--count", "--verify", "--wait", "--json", "--timeout")),
            "--help: status 0, every option described")
        for bad in (["--rw", "sideways", "-s", exp.sock], ["--bs", "1000", "-s", exp.sock],
                    ["--iodepth", "0", "-s", exp.sock], []):
            p = subprocess.run([drive] + bad, capture_output=True, text=True)
            c.equal(p.returncode, 2, f"usage error {bad}: status 2")

        seed = None
        modes = ["read", "write", "randread", "randwrite", "rw", "randrw"]
        n = 0
        for rw in modes:
            for qd in (1, 32):
                for queues in (1, 2):
                    wait = "event" if n % 2 else "poll"
                    n += 1
                    seed = 1000 + n
                    args = ["-s", exp.sock, "--rw", rw, "--bs", str(BS),
                            "--iodepth", str(qd), "--queues", str(queues),
                            "--verify", "--seed", str(seed), "--wait", wait,
                            "--json", "--no-progress"]
                    what = f"verify {rw} QD{qd} {queues}q {wait}"
                    rc, d, err = run_drive(args)
                    ok = c.equal(rc, 0, f"{what}: status 0")
                    ok &= c.check(d is not None and d["error"] is None,
                                  f"{what}: JSON summary without error",
                                  err[-400:])
                    if not d or "phases" not in d:
                        continue
                    ph = d["phases"]
                    blocks = DISK // BS
                    ok &= c.check(ph["fill"]["write"]["ios"] == blocks and
                                  ph["readback"]["read"]["ios"] == blocks and
                                  ph["readback"]["verified"] == blocks,
                                  f"{what}: whole disk written and read back "
                                  f"({blocks} blocks)",
                                  json.dumps(ph["readback"]))
                    main = ph["main"]
                    ok &= c.equal(main["read"]["ios"] + main["write"]["ios"],
                                  blocks, f"{what}: one pass of requests")
                    if rw in ("read", "randread"):
                        ok &= c.check(main["write"]["ios"] == 0 and
                                      main["verified"] == blocks,
                                      f"{what}: every read checked")
                    if rw in ("write", "randwrite"):
                        ok &= c.equal(main["read"]["ios"], 0, f"{what}: writes only")
                    if rw in ("rw", "randrw"):
                        ok &= c.check(main["read"]["ios"] > 0 and
                                      main["write"]["ios"] > 0,
                                      f"{what}: reads and writes mixed")
                    ok &= c.check(len(main["queue_ios"]) == queues and
                                  all(n > 0 for n in main["queue_ios"]),
                                  f"{what}: every queue completed requests",
                                  str(main["queue_ios"]))
                    errs = sum(p["io_errors"] + p["unsupported"] +
                               p["verify_errors"] for p in ph.values())
                    ok &= c.equal(errs, 0, f"{what}: no I/O or verify errors")
                    if not ok:
                        print(err)

        bad = drive_pattern.bad_blocks(exp.img, seed, DISK, BS)
        c.equal(bad[:10], [], "the raw file holds the driver's pattern in "
                f"every block (offset, seed {seed}, CRC-32)")

        # --count and --runtime, latency percentiles in order.
        rc, d, err = run_drive(["-s", exp.sock, "--rw", "randread",
                                "--iodepth", "8", "--count", "3000", "--json"])
        c.check(rc == 0 and d and d["phases"]["main"]["read"]["ios"] == 3000,
                "--count 3000: exactly 3000 reads", err[-300:])
        rc, d, err = run_drive(["-s", exp.sock, "--rw", "randwrite",
                                "--iodepth", "4", "--runtime", "1.5", "--json",
                                "--progress"])
        if c.check(rc == 0 and d is not None, "--runtime 1.5: status 0", err[-300:]):
            m = d["phases"]["main"]
            lat = m["write"]["lat_ns"]
            c.check(1.5 <= m["elapsed_s"] < 15 and m["write"]["ios"] > 0,
                    "--runtime 1.5: ran about that long and wrote",
                    json.dumps(m))
            c.check(lat["count"] == m["write"]["ios"] and
                    0 < lat["min"] <= lat["p50"] <= lat["p99"] <= lat["p99.9"]
                    <= lat["max"], "latency percentiles are ordered",
                    json.dumps(lat))
            c.check("[main" in err and "IOPS" in err,
                    "--progress: a progress line on stderr", err[-300:])

        # --fsync 4: a FLUSH after every 4 writes, all completed OK.
        rc, d, err = run_drive(["-s", exp.sock, "--rw", "randrw", "--iodepth",
                                "8", "--count", "2000", "--fsync", "4",
                                "--verify", "--json"])
        if c.check(rc == 0 and d is not None, "--fsync 4 verify run: status 0",
                   err[-300:]):
            m = d["phases"]["main"]
            w, fl = m["write"]["ios"], m["flush"]["ios"]
            c.check(w // 4 - 1 <= fl <= w // 4 and m["io_errors"] == 0,
                    f"--fsync 4: {fl} FLUSHes for {w} writes",
                    json.dumps(m["flush"]))

        # A read-only export: a write job is refused before any I/O, a
        # read job runs.
        rc, d, err = run_drive(["-s", ro.sock, "--rw", "randwrite", "--json"])
        c.check(rc == 1 and "read-only" in err,
                "read-only export: write job refused (status 1)", err[-300:])
        rc, d, err = run_drive(["-s", ro.sock, "--rw", "randread",
                                "--count", "100", "--json"])
        c.check(rc == 0 and d and d["phases"]["main"]["read"]["ios"] == 100,
                "read-only export: a read job runs", err[-300:])
        with open(ro.img, "rb") as f:
            c.check(f.read() == bytes(DISK), "read-only image untouched")

        # --probe: bad requests, each on a new connection.  The answers
        # the spec fixes (status codes) are asserted; for the malformed
        # layouts qemu-storage-daemon's choices (it drops the connection
        # on some) are printed, and the driver must get through all.
        rc, d, err = run_drive(["-s", exp.sock, "--probe", "--json",
                                "--timeout", "2000"])
        if c.check(rc in (0, 3) and d is not None and len(d["probes"]) == 15,
                   "--probe: every probe ran (status 0 or 3)", err[-400:]):
            res = {p["name"]: p for p in d["probes"]}
            for name in ("read_past_end", "read_across_end", "write_past_end",
                         "unknown_type", "get_id", "flush", "discard_past_end",
                         "write_zeroes_across_end"):
                c.check(res[name]["pass"] and res[name]["served_after"],
                        f"--probe {name}: {res[name]['expect']}",
                        json.dumps(res[name]))
            c.check(all(p["outcome"] != "setup failed" for p in d["probes"]),
                    "--probe: the daemon took every new connection")
            c.equal(d["failed"], sum(not p["pass"] for p in d["probes"]),
                    "--probe: failed counts the failing verdicts")
            for p in d["probes"]:
                print(f"  info qsd {p['name']}: {p['outcome']} "
                      f"status={p['status']} served_after={p['served_after']}")
        c.check(exp.running(), "qemu-storage-daemon survives the probes")

        # Nobody listening: one error, status 1, within the timeout.
        rc, d, err = run_drive(["-s", os.path.join(tmp, "none.sock"),
                                "--timeout", "300"], timeout=30)
        c.check(rc == 1 and "cannot connect" in err,
                "no back-end: status 1, 'cannot connect'", err[-300:])
    finally:
        log = exp.stop() + ro.stop()
    # --probe makes the daemon log its refusals (and vu_panic for some):
    # anything else it logs is a failure.
    unexpected = [ln for ln in log.splitlines() if ln.strip() and not re.search(
        r"virtio-blk request|vu_panic", ln)]
    c.check(not unexpected, "qemu-storage-daemon reported nothing else",
            "\n".join(unexpected))

c.finish()

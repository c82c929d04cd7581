#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Block data path: splitvm-blk against qemu-storage-daemon, both driven by
splitvm-drive, with host fio (io_uring) on the same file as the ceiling.

For each place (a raw file in /dev/shm, tmpfs, and one on disk, ext4
under /var/tmp by default), the file is written once in full (so no read
finds a hole and no write allocates), then two back-ends serve it for the
whole place, each pinned to the back-end CPU (taskset, all threads):

  splitvm-blk          --num-queues Q, as uid 65534 when started as root
                       (the image passed as an fd), --direct on disk
  qemu-storage-daemon  --blockdev driver=file,aio=io_uring (cache.direct=on
                       on disk), an iothread (QEMU's polling event loop),
                       --export type=vhost-user-blk,num-queues=Q

Each job (4 KiB randread and randwrite, QD1 and QD32, 1 and 2 queues by
default) runs in turn, interleaved and repeated: splitvm-drive
(--cpu DRIVER_CPU, --wait poll, --json) against splitvm-blk, the same
against qemu-storage-daemon, and `fio --ioengine=io_uring` on the
back-end CPU with the same file, block size, depth and one job per queue.
The order of the three rotates from one job to the next.  Per job and
program: IOPS, p50 and p99 latency (splitvm-drive: ring to used ring;
fio: submission to completion, lat_percentiles), the median and the
range over the runs, the ratios splitvm-blk/qsd and splitvm-blk/fio, and
the back-end's CPU per request (for fio: fio's, which also makes the
requests).  A run that fails is printed and never counts.

A benchmark program, not a test.  Needs qemu-storage-daemon and fio.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import bench_boot  # noqa: E402

NOBODY = 65534
PROGS = ("splitvm-blk", "qsd", "fio")
TICK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- helpers

def parse_bytes(text):
    units = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().rstrip("ib").rstrip("b") if text else ""
    num, unit = (t[:-1], t[-1]) if t and t[-1] in units else (t, "")
    try:
        n = int(num) * units[unit]
    except ValueError:
        raise argparse.ArgumentTypeError("a size like 4k or 1G: %r" % text)
    if n <= 0:
        raise argparse.ArgumentTypeError("a positive size: %r" % text)
    return n


def int_list(text):
    try:
        vals = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("numbers separated by commas: %r"
                                         % text)
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError("positive numbers: %r" % text)
    return vals


def fs_type(path):
    """Filesystem type of the mount holding path, from /proc/mounts."""
    path = os.path.realpath(path)
    best, kind = "", "?"
    with open("/proc/mounts") as f:
        for line in f:
            _, mnt, typ = line.split()[:3]
            mnt = mnt.replace("\\040", " ")
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and \
                    len(mnt) >= len(best):
                best, kind = mnt, typ
    return kind


def cpu_ticks(pid):
    """utime + stime of every thread of pid (io_uring workers included)."""
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])


def ctx_switches(pid):
    """Voluntary and involuntary context switches, summed over threads."""
    vol = invol = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        invol += int(line.split()[1])
        except OSError:
            pass
    return vol, invol


def wait_for_socket(proc, path, what, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError("%s did not create %s (exit status %s)" %
                       (what, path, proc.poll()))


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fill(path, size):
    """Write every byte of the file once (non-zero data, then fsync)."""
    chunk = bytes(range(256)) * 4096   # 1 MiB
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(chunk))
            f.write(chunk[:n])
            left -= n
        f.flush()
        os.fsync(f.fileno())


# ---------------------------------------------------------------- back-ends

class Place:
    """One file and the two back-ends serving it."""

    def __init__(self, a, name, directory, tmp):
        self.a, self.name = a, name
        self.direct = name == "disk" and a.disk_cache == "direct"
        self.fs = fs_type(directory)
        self.img = os.path.join(directory, "splitvm-bench-blk-%d.img" %
                                os.getpid())
        self.tmp = tmp
        self.blk = self.qsd = None
        self.blk_sock = os.path.join(tmp, "%s-blk.sock" % name)
        self.qsd_sock = os.path.join(tmp, "%s-qsd.sock" % name)

    def start(self):
        a = self.a
        fill(self.img, a.size)
        os.chmod(self.img, 0o600)
        nq = str(max(a.queues))
        pin = ["taskset", "-c", str(a.backend_cpu)]

        fd = os.open(self.img, os.O_RDWR)
        argv = pin + [a.splitvm_blk, "--socket-path", self.blk_sock,
                      "--image-fd", str(fd), "--num-queues", nq, "-q"]
        if self.direct:
            argv.append("--direct")
        argv += a.blk_arg
        kw = {}
        if os.geteuid() == 0:
            kw = dict(user=NOBODY, group=NOBODY, extra_groups=[])
        self.blk_argv = argv
        self.blk_log = open(os.path.join(self.tmp, "%s-blk.log" % self.name),
                            "w+")
        self.blk = subprocess.Popen(argv, pass_fds=(fd,), stdout=self.blk_log,
                                    stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, **kw)
        os.close(fd)

        cache = "on" if self.direct else "off"
        self.qsd_argv = pin + [
            a.qsd,
            "--object", "iothread,id=iot0",
            "--blockdev", "driver=file,node-name=file0,filename=%s,"
                          "aio=io_uring,cache.direct=%s" % (self.img, cache),
            "--blockdev", "driver=raw,node-name=disk0,file=file0",
            "--export", "type=vhost-user-blk,id=exp0,node-name=disk0,"
                        "addr.type=unix,addr.path=%s,writable=on,"
                        "num-queues=%s,iothread=iot0" % (self.qsd_sock, nq)]
        self.qsd_log = open(os.path.join(self.tmp, "%s-qsd.log" % self.name),
                            "w+")
        self.qsd = subprocess.Popen(self.qsd_argv, stdout=self.qsd_log,
                                    stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        wait_for_socket(self.blk, self.blk_sock, "splitvm-blk")
        wait_for_socket(self.qsd, self.qsd_sock, "qemu-storage-daemon")

    def stop(self):
        for p in (self.blk, self.qsd):
            stop(p)
        if os.path.exists(self.img):
            os.unlink(self.img)

    def log(self, which):
        f = self.blk_log if which == "splitvm-blk" else self.qsd_log
        f.flush()
        f.seek(0)
        return f.read()


# ---------------------------------------------------------------- one run

def drive_argv(a, sock, job):
    rw, qd, nq = job
    return [a.drive, "-s", sock, "--rw", rw, "--bs", str(a.bs),
            "--iodepth", str(qd), "--queues", str(nq),
            "--runtime", str(a.seconds), "--cpu", str(a.driver_cpu),
            "--no-progress", "--json"]


def fio_argv(a, place, job):
    rw, qd, nq = job
    return ["taskset", "-c", str(a.backend_cpu), a.fio,
            "--name=bench-blk", "--filename=%s" % place.img,
            "--ioengine=io_uring", "--rw=%s" % rw, "--bs=%d" % a.bs,
            "--iodepth=%d" % qd, "--numjobs=%d" % nq, "--group_reporting",
            "--direct=%d" % place.direct, "--size=%d" % a.size,
            "--time_based", "--runtime=%gs" % a.seconds, "--norandommap",
            "--randrepeat=0", "--lat_percentiles=1",
            "--output-format=json"]


def run_drive(a, place, prog, job):
    proc = place.blk if prog == "splitvm-blk" else place.qsd
    if proc.poll() is not None:
        raise RuntimeError("%s exited (status %s):\n%s" % (
            prog, proc.returncode, place.log(prog)[-2000:]))
    argv = drive_argv(a, place.blk_sock if prog == "splitvm-blk"
                      else place.qsd_sock, job)
    c0, x0, t0 = cpu_ticks(proc.pid), ctx_switches(proc.pid), time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True,
                       timeout=a.seconds + 60)
    c1, x1, t1 = cpu_ticks(proc.pid), ctx_switches(proc.pid), time.monotonic()
    if r.returncode != 0:
        raise RuntimeError("splitvm-drive exited %d: %s\n%s" % (
            r.returncode, " ".join(argv), r.stderr[-1500:]))
    d = json.loads(r.stdout)
    if d.get("error"):
        raise RuntimeError("splitvm-drive: %s" % d["error"])
    main = d["phases"]["main"]
    io = main["read" if job[0].endswith("read") else "write"]
    if main["io_errors"] or main["unsupported"] or not io["ios"]:
        raise RuntimeError("%d I/O errors, %d unsupported, %d requests" % (
            main["io_errors"], main["unsupported"], io["ios"]))
    return {"iops": io["iops"], "p50": io["lat_ns"]["p50"] / 1e3,
            "p99": io["lat_ns"]["p99"] / 1e3,
            "cpu_us": (c1 - c0) / TICK * 1e6 / io["ios"],
            "cpu": (c1 - c0) / TICK / (t1 - t0),
            "csw": (x1[0] - x0[0] + x1[1] - x0[1]) / io["ios"]}


def run_fio(a, place, job):
    argv = fio_argv(a, place, job)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=place.tmp)
    out, err = p.communicate(timeout=a.seconds + 60)
    if p.returncode != 0:
        raise RuntimeError("fio exited %d: %s\n%s" % (
            p.returncode, " ".join(argv), err[-1500:]))
    j = json.loads(out[out.index("{"):])["jobs"][0]
    io = j["read" if job[0].endswith("read") else "write"]
    if j.get("error") or not io["total_ios"]:
        raise RuntimeError("fio: error %s, %d requests" % (
            j.get("error"), io["total_ios"]))
    pct = io["lat_ns"]["percentile"]
    # usr_cpu/sys_cpu are percent of one CPU per job, over the run.
    cpu = (j["usr_cpu"] + j["sys_cpu"]) / 100 * job[2]
    return {"iops": io["iops"], "p50": pct["50.000000"] / 1e3,
            "p99": pct["99.000000"] / 1e3,
            "cpu_us": cpu * a.seconds * 1e6 / io["total_ios"], "cpu": cpu,
            "csw": (j["ctx"]) / io["total_ios"]}


# ---------------------------------------------------------------- report

def med(vals):
    return statistics.median(vals) if vals else None


def fmt(vals, digits=1, scale=1.0):
    if not vals:
        return "no valid run"
    f = "%%.%df" % digits
    return "%s [%s-%s]" % (f % (med(vals) * scale), f % (min(vals) * scale),
                           f % (max(vals) * scale))


def kiops(vals):
    return fmt(vals, 1, 1e-3)


def ratio(num, den):
    if not num or not den:
        return None
    return med(num) / med(den)


def fmt_ratio(r):
    return "-" if r is None else "%.2f" % r


def job_name(job):
    rw, qd, nq = job
    return "%s QD%d %dq" % (rw, qd, nq)


def col(res, key, prog, field):
    return [r[field] for r in res.get(key + (prog,), [])]


def per_run(res, k, num, den, field="iops"):
    """num/den within each repetition (the runs of one job sit next to
    each other in time, so they share the machine's state more often
    than runs minutes apart): median [min-max] of those ratios."""
    d = {r["rep"]: r[field] for r in res.get(k + (den,), [])}
    v = [r[field] / d[r["rep"]] for r in res.get(k + (num,), [])
         if d.get(r["rep"])]
    return fmt(v, 2) if v else "-"


def job_table(places, jobs, headers, cells):
    """One row per place and job: its name, then cells((place,) + job)."""
    md_table([[p.name, job_name(job)] + cells((p.name,) + job)
              for p in places for job in jobs], ["place", "job"] + headers)


def report(a, places, jobs, res):
    print()
    print("IOPS in thousands, median [min-max] of %d run(s) of %g s each; "
          "ratios of the medians, then the median [min-max] of the ratios "
          "within each repetition" % (a.runs, a.seconds))
    print()

    def iops(k):
        b, q, f = (col(res, k, x, "iops") for x in PROGS)
        return [kiops(b), kiops(q), kiops(f), fmt_ratio(ratio(b, q)),
                fmt_ratio(ratio(b, f)), per_run(res, k, PROGS[0], PROGS[1]),
                per_run(res, k, PROGS[0], PROGS[2])]
    job_table(places, jobs, ["splitvm-blk kIOPS", "qsd kIOPS", "fio kIOPS",
                             "blk/qsd", "blk/fio", "blk/qsd per rep",
                             "blk/fio per rep"], iops)
    print()
    print("Latency in µs, median [min-max] over the runs of each run's "
          "p50 and p99")
    print()
    job_table(places, jobs, ["blk p50", "blk p99", "qsd p50", "qsd p99",
                             "fio p50", "fio p99"],
              lambda k: [fmt(col(res, k, x, f)) for x in PROGS
                         for f in ("p50", "p99")])
    print()
    print("Back-end CPU: µs of CPU time per request (all threads, io_uring "
          "workers included; fio's own, which also makes the requests) "
          "and context switches per request, medians.  splitvm-blk polls "
          "before it sleeps, so its polling is in the number (at QD1 most "
          "of the wait); qsd polls up to its iothread's poll-max-ns")
    print()

    def cpu(k):
        out = []
        for x in PROGS:
            cu, cs = col(res, k, x, "cpu_us"), col(res, k, x, "csw")
            out.append("%.2f / %.2f" % (med(cu), med(cs)) if cu else "-")
        return out
    job_table(places, jobs, ["splitvm-blk CPU µs / csw", "qsd CPU µs / csw",
                             "fio CPU µs / csw"], cpu)


def md_table(rows, headers):
    widths = [max(len(str(r[i])) for r in rows + [headers])
              for i in range(len(headers))]
    line = "| " + " | ".join("%%-%ds" % w for w in widths) + " |"
    print(line % tuple(headers))
    print(line % tuple("-" * w for w in widths))
    for r in rows:
        print(line % tuple(r))


def targets(a, places, jobs, res):
    """The issue's three targets, per job; returns (met, missed, unknown)."""
    print()
    print("Targets (splitvm-blk, medians):")
    counts = {"met": 0, "MISSED": 0, "no data": 0}
    checks = [
        ("IOPS >= 1.5 x qsd at QD32", lambda j: j[1] >= 32,
         lambda k: ratio(col(res, k, "splitvm-blk", "iops"),
                         col(res, k, "qsd", "iops")),
         lambda r: r >= 1.5, "x%.2f"),
        ("p99 lower than qsd's at QD1", lambda j: j[1] == 1,
         lambda k: ratio(col(res, k, "splitvm-blk", "p99"),
                         col(res, k, "qsd", "p99")),
         lambda r: r < 1.0, "blk/qsd p99 x%.2f"),
        ("IOPS >= 0.8 x host fio io_uring", lambda j: True,
         lambda k: ratio(col(res, k, "splitvm-blk", "iops"),
                         col(res, k, "fio", "iops")),
         lambda r: r >= 0.8, "x%.2f"),
    ]
    for title, applies, value, ok, spec in checks:
        print("  %s:" % title)
        if not any(applies(job) for job in jobs):
            print("    (no such job in this run)")
        for p in places:
            for job in jobs:
                if not applies(job):
                    continue
                r = value((p.name,) + job)
                verdict = "no data" if r is None else \
                    ("met" if ok(r) else "MISSED")
                counts[verdict] += 1
                print("    %-5s %-18s %-20s %s" % (
                    p.name, job_name(job),
                    "-" if r is None else spec % r, verdict))
    print("  %d met, %d missed, %d without data" % (
        counts["met"], counts["MISSED"], counts["no data"]))
    print("  (splitvm-drive polls on CPU %d: when other processes want that\n"
          "  CPU, both vhost-user back-ends lose requests per second while\n"
          "  fio, alone on CPU %d, does not: compare with fio on a quiet\n"
          "  machine only.  On disk, fio's rate on the same device bounds\n"
          "  what either back-end can reach.)"
          % (a.driver_cpu, a.backend_cpu))
    return counts


# ---------------------------------------------------------------- main

def cmd_first_line(argv):
    out = bench_boot.cmd_output(argv)
    return out.splitlines()[0] if out and out != "?" else "?"


def header(a, places, jobs):
    rev = bench_boot.cmd_output(["git", "-C", bench_boot.REPO, "rev-parse",
                                 "--short", "HEAD"])
    if bench_boot.cmd_output(["git", "-C", bench_boot.REPO, "status",
                              "--porcelain", "--untracked-files=no"]):
        rev += " (modified tracked files)"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    print("Block data path: splitvm-blk vs qemu-storage-daemon (both driven "
          "by splitvm-drive), host fio io_uring as the ceiling")
    print("host:     Linux %s, %s, %d CPUs, Python %s" % (
        platform.release(), cpu, os.cpu_count(), platform.python_version()))
    print("splitvm:  source tree at git %s" % rev)
    print("qsd:      %s" % cmd_first_line([a.qsd, "--version"]))
    print("fio:      %s" % cmd_first_line([a.fio, "--version"]))
    print("config:   %d run(s) of %g s per job and program, interleaved; "
          "bs %d, file %d MiB; driver on CPU %d, back-ends and fio on CPU "
          "%d" % (a.runs, a.seconds, a.bs, a.size >> 20, a.driver_cpu,
                  a.backend_cpu))
    for p in places:
        print("place:    %-4s %s (%s), %s" % (
            p.name, os.path.dirname(p.img), p.fs,
            "O_DIRECT for all three" if p.direct else "buffered (page cache)"))
    print("jobs:     %s" % ", ".join(job_name(j) for j in jobs))
    p = places[0]
    print("commands (place %s, job %s):" % (p.name, job_name(jobs[0])))
    print("  splitvm-blk:   %s" % " ".join(p.blk_argv))
    print("  qsd:           %s" % " ".join(p.qsd_argv))
    print("  splitvm-drive: %s" % " ".join(drive_argv(a, "SOCKET", jobs[0])))
    print("  fio:           %s" % " ".join(fio_argv(a, p, jobs[0])))


def main():
    build = os.path.join(bench_boot.REPO, "build")
    ap = argparse.ArgumentParser(
        description="Compare splitvm-blk with qemu-storage-daemon "
        "(vhost-user-blk, aio=io_uring), both driven by splitvm-drive, and "
        "with host fio io_uring on the same file: interleaved, repeated "
        "runs; medians, ranges, ratios and the issue's targets.",
        epilog="Exit status: 0 every run succeeded, 1 a run failed (printed "
        "and left out), 2 bad usage or a missing program.  Whether the "
        "targets are met does not change the exit status.")
    ap.add_argument("--runs", type=int, default=3, metavar="N",
                    help="runs of each program per job (default 3)")
    ap.add_argument("--seconds", type=float, default=1.5, metavar="S",
                    help="length of each run (default 1.5)")
    ap.add_argument("--size", type=parse_bytes, default=parse_bytes("1G"),
                    metavar="SIZE", help="file size (default 1G); it is "
                    "written in full at the start of each place")
    ap.add_argument("--bs", type=parse_bytes, default=4096, metavar="SIZE",
                    help="block size (default 4k)")
    ap.add_argument("--rw", default="randread,randwrite",
                    help="comma-separated splitvm-drive/fio modes (default "
                    "randread,randwrite)")
    ap.add_argument("--iodepth", type=int_list, default=[1, 32],
                    metavar="LIST", help="queue depths per queue (default "
                    "1,32)")
    ap.add_argument("--queues", type=int_list, default=[1, 2],
                    metavar="LIST", help="queue counts (default 1,2; fio "
                    "runs one job per queue)")
    ap.add_argument("--places", default="shm,disk",
                    help="shm, disk or both (default shm,disk)")
    ap.add_argument("--shm-dir", default="/dev/shm",
                    help="directory of the shm file (default /dev/shm)")
    ap.add_argument("--disk-dir", default="/var/tmp",
                    help="directory of the disk file, not tmpfs (default "
                    "/var/tmp)")
    ap.add_argument("--disk-cache", default="direct",
                    choices=("direct", "buffered"),
                    help="on disk: O_DIRECT for all three (splitvm-blk "
                    "--direct, qsd cache.direct=on, fio --direct=1; the "
                    "default) or the page cache")
    ap.add_argument("--driver-cpu", type=int, default=0, metavar="N",
                    help="CPU of splitvm-drive (default 0)")
    ap.add_argument("--backend-cpu", type=int, default=1, metavar="N",
                    help="CPU of the back-ends and of fio (default 1)")
    ap.add_argument("--blk-arg", action="append", default=[],
                    metavar="ARG", help="extra splitvm-blk argument "
                    "(repeatable), e.g. --blk-arg=--poll-us=50")
    ap.add_argument("--splitvm-blk", default=os.path.join(
        build, "backends", "blk", "splitvm-blk"), metavar="PATH")
    ap.add_argument("--drive", default=os.path.join(
        build, "tools", "drive", "splitvm-drive"), metavar="PATH")
    ap.add_argument("--qsd", default="qemu-storage-daemon", metavar="PATH")
    ap.add_argument("--fio", default="fio", metavar="PATH")
    ap.add_argument("--raw", action="store_true",
                    help="print every run's numbers as it ends (default: "
                    "one line per run anyway, on stderr)")
    a = ap.parse_args()

    for what, path in (("splitvm-blk", a.splitvm_blk),
                       ("splitvm-drive", a.drive)):
        if not os.path.isfile(path):
            ap.error("no %s at %s: build first (meson setup build && ninja "
                     "-C build) or pass --%s" % (
                         what, path, "drive" if what == "splitvm-drive"
                         else what))
    for prog, pkg in ((a.qsd, "qemu-system-common"), (a.fio, "fio"),
                      ("taskset", "util-linux")):
        if shutil.which(prog) is None:
            ap.error("%s is not installed: apt-get install %s" % (prog, pkg))
    a.splitvm_blk, a.drive = map(os.path.abspath, (a.splitvm_blk, a.drive))
    ncpu = os.cpu_count()
    if a.driver_cpu == a.backend_cpu or \
            not (0 <= a.driver_cpu < ncpu and 0 <= a.backend_cpu < ncpu):
        ap.error("--driver-cpu and --backend-cpu: two different CPUs below "
                 "%d" % ncpu)
    if a.runs < 1 or a.seconds <= 0 or a.bs % 512 or a.size < 16 * a.bs:
        ap.error("--runs >= 1, --seconds > 0, --bs a multiple of 512, "
                 "--size at least 16 blocks")
    rws = a.rw.split(",")
    for rw in rws:
        if rw not in ("randread", "randwrite", "read", "write"):
            ap.error("--rw: randread, randwrite, read or write: %r" % rw)
    names = a.places.split(",")
    if not names or any(n not in ("shm", "disk") for n in names):
        ap.error("--places: shm, disk or shm,disk")
    for n, d in (("shm", a.shm_dir), ("disk", a.disk_dir)):
        if n in names and not os.path.isdir(d):
            ap.error("--%s-dir %s is not a directory" % (n, d))
    if "disk" in names and fs_type(a.disk_dir) == "tmpfs":
        ap.error("--disk-dir %s is on tmpfs: pick a disk filesystem"
                 % a.disk_dir)
    jobs = [(rw, qd, nq) for rw in rws for qd in a.iodepth
            for nq in a.queues]

    tmp = tempfile.mkdtemp(prefix="splitvm-bench-blk-")
    os.chmod(tmp, 0o755)
    if os.geteuid() == 0:
        os.chown(tmp, NOBODY, NOBODY)   # splitvm-blk's sockets
    places = [Place(a, n, a.shm_dir if n == "shm" else a.disk_dir, tmp)
              for n in names]
    try:
        return bench(a, places, jobs)
    except (RuntimeError, OSError) as e:
        print("bench-blk: %s" % e, file=sys.stderr)
        for p in places:
            for which in ("splitvm-blk", "qsd"):
                if getattr(p, "blk_log" if which == "splitvm-blk"
                           else "qsd_log", None):
                    print("--- %s %s log:\n%s" % (p.name, which,
                                                  p.log(which)[-1500:]),
                          file=sys.stderr)
        return 1
    finally:
        for p in places:
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def bench(a, places, jobs):
    monitor = bench_boot.CpuMonitor()
    load0 = open("/proc/loadavg").read().strip()
    t_start = time.monotonic()
    res, failures = {}, []
    n = 0
    for pi, place in enumerate(places):
        place.start()
        if pi == 0:
            header(a, places, jobs)
            print("load:     %s at the start" % load0)
            sys.stdout.flush()
        for rep in range(a.runs):
            for ji, job in enumerate(jobs):
                k = rep * len(jobs) + ji
                order = PROGS[k % 3:] + PROGS[:k % 3]
                if k // 3 % 2:
                    order = order[::-1]
                for prog in order:
                    n += 1
                    try:
                        r = run_fio(a, place, job) if prog == "fio" else \
                            run_drive(a, place, prog, job)
                    except (RuntimeError, ValueError, KeyError,
                            subprocess.TimeoutExpired) as e:
                        failures.append("%s %s %s run %d: %s" % (
                            place.name, job_name(job), prog, rep + 1, e))
                        print("FAILED: " + failures[-1], file=sys.stderr)
                        continue
                    r["rep"] = rep
                    res.setdefault((place.name,) + job + (prog,), []).append(r)
                    line = ("run %3d: %-4s %-20s %-11s %8.0f IOPS  p50 %8.1f "
                            "p99 %8.1f us  cpu %5.2f us/req  csw %.2f/req" % (
                                n, place.name, job_name(job), prog, r["iops"],
                                r["p50"], r["p99"], r["cpu_us"], r["csw"]))
                    print(line, file=sys.stdout if a.raw else sys.stderr,
                          flush=True)
        place.stop()
    others = monitor.others()
    print("load:     %s at the end; %.0f s in all" % (
        open("/proc/loadavg").read().strip(), time.monotonic() - t_start))
    print("Other processes used %.0f%% of the machine's CPU during the "
          "benchmark%s" % (100 * others, " (the machine was NOT quiet: "
                            "indicative numbers only)" if others > 0.1
                            else ""))
    report(a, places, jobs, res)
    targets(a, places, jobs, res)
    if failures:
        print()
        print("%d run(s) FAILED and were left out:" % len(failures))
        for f in failures:
            print("  " + f.splitlines()[0])
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)

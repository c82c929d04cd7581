#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Boot time and footprint: splitvm against QEMU -M microvm.

Both VMMs boot the same test guest (tests/guest/splitvm-guest.elf, PVH
entry) with the same memory, vCPU count and guest command line, in
alternating runs (splitvm, QEMU, QEMU, splitvm, ...).  For every run:

  first instruction  exec of the VMM -> first byte on its stdout.  The
                     guest's first instructions write '\\n' to COM1 and
                     nothing else writes to either VMM's stdout, so this is
                     the moment the guest started running (for QEMU: after
                     its qboot firmware and PVH hand-off).
  exit               exec of the VMM -> the VMM process has exited (its
                     pidfd became readable) after the guest wrote PASS to
                     the debug-exit port.
  RSS                a second run with guest.exit=hang; once the guest
                     prints "guest: hanging" (and --settle later), the VMM's
                     RssAnon + RssFile from /proc/PID/status: its resident
                     memory without guest RAM, which is a memfd (shmem) for
                     splitvm, and for QEMU too here (memory-backend-memfd).
                     QEMU's default anonymous guest RAM is sampled as well
                     (reported as-is, guest RAM included).

"exec" is the moment just before the benchmark spawns the VMM; spawning a
process from Python costs the same for both (see the spawn floor printed).
A run that fails (wrong exit status, no "guest: result=PASS", time-out) is
printed and never contributes a number; any failure makes the exit status 1.

Optional split runs (--split-runs) show where each VMM spends its start-up:
splitvm with --verbose (its debug lines timestamped as they arrive on
stderr), QEMU with -trace kvm_vcpu_ioctl (timestamps of its KVM_RUN calls).
These runs are perturbed by the logging and are reported separately.

This is a benchmark, not a test: it needs /dev/kvm and qemu-system-x86_64
and takes about a second per run.
"""

import argparse
import glob
import os
import platform
import re
import select
import signal
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASS_LINE = b"guest: result=PASS"
HANG_LINE = b"guest: hanging"
KVM_RUN = 0xAE80

# Exit statuses for a passing guest.  splitvm: 0 (debug-exit status 0),
# 128+SIGTERM when stopped.  QEMU's isa-debug-exit exits with
# (status << 1) | 1, and QEMU exits 0 on SIGTERM.
SPLITVM_PASS, SPLITVM_TERM = 0, 128 + signal.SIGTERM
QEMU_PASS, QEMU_TERM = 1, 0


class RunError(Exception):
    def __init__(self, msg, run=None):
        super().__init__(msg)
        self.run = run


# ---------------------------------------------------------------- discovery

def find_build_dir():
    """build/ under the repository if it has splitvm, else the newest
    build*/ that has both splitvm and the guest."""
    def complete(d):
        return (os.path.isfile(os.path.join(d, "core", "splitvm")) and
                os.path.isfile(os.path.join(d, "tests", "guest",
                                            "splitvm-guest.elf")))
    default = os.path.join(REPO, "build")
    if complete(default):
        return default
    cands = [d for d in glob.glob(os.path.join(REPO, "build*")) if complete(d)]
    if not cands:
        return None
    return max(cands, key=lambda d: os.path.getmtime(
        os.path.join(d, "core", "splitvm")))


def parse_size(text):
    m = re.fullmatch(r"(\d+)([KMGkmg]?)", text)
    if not m:
        raise argparse.ArgumentTypeError("size like 128M or 1G: %r" % text)
    n = int(m.group(1))
    unit = m.group(2).upper()
    mib = {"": n, "K": n / 1024, "M": n, "G": n * 1024}[unit]
    if mib != int(mib) or mib < 16:
        raise argparse.ArgumentTypeError("a whole number of MiB, at least "
                                         "16M: %r" % text)
    return "%dM" % mib


def size_or_off(text):
    return None if text == "off" else parse_size(text)


# ---------------------------------------------------------------- one run

class Run:
    """One VMM process: timestamps (ns since spawn), output, status, RSS."""

    def __init__(self):
        self.first_byte = None	# ns since t0
        self.pass_line = None
        self.hang_line = None
        self.exit = None
        self.status = None
        self.stdout = b""
        self.stderr = b""
        self.err_lines = []	# (ns since t0, line)
        self.rss = None		# dict of /proc/PID/status kB fields
        self.t0_real = None	# time.time_ns() at t0


def read_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, val = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM",
                       "Threads"):
                fields[key] = int(val.split()[0])
    return fields


def run_vmm(argv, hang=False, settle=0.2, timeout=60.0):
    """Spawn argv and follow it to its exit.  With hang, sample RSS
    `settle` seconds after the guest says it is hanging, then SIGTERM."""
    r = Run()
    r.t0_real = time.time_ns()
    t0 = time.monotonic_ns()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            bufsize=0, close_fds=True)
    pidfd = os.pidfd_open(proc.pid)
    out, err = proc.stdout.fileno(), proc.stderr.fileno()
    poll = select.poll()
    for fd in (out, err, pidfd):
        poll.register(fd, select.POLLIN)
    open_fds = {out, err}
    err_partial = b""
    deadline = t0 + int(timeout * 1e9)
    sample_at = None
    killed = False
    try:
        while r.exit is None or open_fds:
            now = time.monotonic_ns()
            if now > deadline:
                proc.kill()
                proc.wait()
                raise RunError("timed out after %.0f s" % timeout, r)
            wait_ms = (deadline - now) // 1000000 + 1
            if sample_at is not None and r.rss is None:
                wait_ms = max(0, min(wait_ms, (sample_at - now) // 1000000))
            events = poll.poll(wait_ms)
            now = time.monotonic_ns() - t0
            for fd, ev in events:
                if fd == pidfd:
                    r.exit = now
                    poll.unregister(pidfd)
                    continue
                data = os.read(fd, 65536)
                if not data:
                    poll.unregister(fd)
                    open_fds.discard(fd)
                    continue
                if fd == out:
                    if r.first_byte is None:
                        r.first_byte = now
                    r.stdout += data
                    if r.pass_line is None and PASS_LINE in r.stdout:
                        r.pass_line = now
                    if r.hang_line is None and HANG_LINE in r.stdout:
                        r.hang_line = now
                        if hang:
                            sample_at = t0 + now + int(settle * 1e9)
                else:
                    r.stderr += data
                    lines = (err_partial + data).split(b"\n")
                    err_partial = lines.pop()
                    r.err_lines += [(now, l) for l in lines]
            if (hang and sample_at is not None and r.rss is None and
                    r.exit is None and time.monotonic_ns() >= sample_at):
                r.rss = read_status(proc.pid)
                proc.send_signal(signal.SIGTERM)
                killed = True
        r.status = proc.wait()
    finally:
        if proc.poll() is None:		# an exception: leave nothing behind
            proc.kill()
            proc.wait()
        os.close(pidfd)
        proc.stdout.close()
        proc.stderr.close()
    if hang and not killed:
        raise RunError("exited (status %d) before the guest said it was "
                       "hanging" % r.status, r)
    return r


def check_run(r, want_status, hang):
    """Reasons this run must not be counted, or []."""
    bad = []
    if r.status != want_status:
        bad.append("exit status %d, expected %d" % (r.status, want_status))
    if not r.stdout.startswith(b"\nguest: hello"):
        bad.append("stdout does not start with the guest's first byte "
                   "and hello line: %r" % r.stdout[:60])
    if PASS_LINE not in r.stdout:
        bad.append("no '%s' on the console" % PASS_LINE.decode())
    if hang and HANG_LINE not in r.stdout:
        bad.append("no '%s' on the console" % HANG_LINE.decode())
    return bad


def describe_failure(name, argv, r, why):
    lines = ["FAILED run of %s: %s" % (name, "; ".join(why)),
             "  command: %s" % " ".join(argv)]
    if r is not None:
        for label, text in (("stdout", r.stdout), ("stderr", r.stderr)):
            tail = text.decode(errors="replace").strip().splitlines()[-8:]
            lines += ["  %s: %s" % (label, l) for l in tail]
    return "\n".join(lines)


# ---------------------------------------------------------------- commands

def splitvm_argv(a, memory, cmdline, verbose=False):
    argv = [a.splitvm, "--kernel", a.guest, "--cpus", str(a.cpus),
            "--memory", memory, "--cmdline", cmdline]
    return argv + (["--verbose"] if verbose else [])


def qemu_argv(a, memory, cmdline, memfd=True, trace=False):
    machine = a.qemu_machine
    argv = [a.qemu, "-M", machine, "-enable-kvm", "-cpu", a.qemu_cpu,
            "-m", memory, "-smp", str(a.cpus), "-nodefaults",
            "-no-user-config", "-display", "none", "-serial", "stdio",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=1",
            "-kernel", a.guest, "-append", cmdline]
    if memfd:
        argv += ["-object", "memory-backend-memfd,id=mem,size=%s" % memory,
                 "-machine", "memory-backend=mem"]
    if trace:
        argv += ["-trace", "kvm_vcpu_ioctl", "-msg", "timestamp=on"]
    return argv


# ---------------------------------------------------------------- stats

def ms(ns):
    return ns / 1e6


def stats(values):
    return statistics.median(values), min(values), max(values)


def fmt_range(values, unit, scale, digits):
    med, lo, hi = (v * scale for v in stats(values))
    f = "%%.%df" % digits
    return ("%s %s [%s-%s]" % (f % med, unit, f % lo, f % hi))


def ratio(q, s):
    if not q or not s:
        return "-"
    return "%.1fx" % (statistics.median(q) / statistics.median(s))


def print_table(rows, headers):
    widths = [max(len(str(row[i])) for row in rows + [headers])
              for i in range(len(headers))]
    line = "  ".join("%%-%ds" % w for w in widths)
    print(line % tuple(headers))
    print(line % tuple("-" * w for w in widths))
    for row in rows:
        print(line % tuple(row))


# ---------------------------------------------------------------- host info

def cmd_output(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def host_info(a):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    rev = cmd_output(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = cmd_output(["git", "-C", REPO, "status", "--porcelain",
                        "--untracked-files=no"])
    untracked = cmd_output(["git", "-C", REPO, "status", "--porcelain"])
    if dirty:
        rev += " (modified tracked files)"
    elif untracked != dirty:
        rev += " (+ untracked files)"
    print("host:     Linux %s, %s, %d CPUs, Python %s" % (
        platform.release(), cpu, os.cpu_count(), platform.python_version()))
    print("qemu:     %s" % cmd_output([a.qemu, "--version"]).splitlines()[0]
          if cmd_output([a.qemu, "--version"]) else "qemu: ?")
    print("splitvm:  %s, source tree at git %s" % (
        cmd_output([a.splitvm, "--version"]).splitlines()[0]
        if cmd_output([a.splitvm, "--version"]) else "?", rev))
    print("          %s" % a.splitvm)
    print("guest:    %s" % a.guest)


def spawn_floor(n):
    """exec -> exit of /bin/true, spawned the same way as the VMMs."""
    times = []
    for _ in range(n):
        r = run_vmm(["true"])
        times.append(r.exit)
    return times


class CpuMonitor:
    """CPU time the whole machine used vs what this script and its
    children used: the rest is other processes competing with the VMMs."""

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        tick = os.sysconf("SC_CLK_TCK")
        busy = (sum(v[:8]) - v[3] - v[4]) / tick	# all but idle, iowait
        own = sum(os.times()[:4])
        return time.monotonic(), busy, own

    def others(self):
        """Share of the machine (0..1) used by other processes so far."""
        t0, b0, o0 = self.start
        t1, b1, o1 = self._sample()
        wall = (t1 - t0) * os.cpu_count()
        return max(0.0, (b1 - b0) - (o1 - o0)) / wall if wall > 0 else 0.0


def busy_check(seconds=1.0):
    mon = CpuMonitor()
    time.sleep(seconds)
    return mon.others()


# ---------------------------------------------------------------- split runs

def splitvm_split(r):
    """Phases from the arrival times of splitvm's --verbose lines."""
    marks = {}
    for t, line in r.err_lines:
        if b"[boot] kernel" in line and "loaded" not in marks:
            marks["loaded"] = t
        elif b"[console]" in line and "console" not in marks:
            marks["console"] = t
        elif b"[debug-exit]" in line and "debug-exit" not in marks:
            marks["debug-exit"] = t
    return marks


TRACE_RE = re.compile(rb"^\d+@(\d+)\.(\d+):kvm_vcpu_ioctl cpu_index \d+, "
                      rb"type 0x([0-9a-f]+)")


def qemu_split(r):
    """First KVM_RUN and KVM_RUN counts from QEMU's kvm_vcpu_ioctl trace."""
    first_run = None
    runs_before_guest = 0
    runs = 0
    guest_real = (r.t0_real + r.first_byte) if r.first_byte else None
    for _, line in r.err_lines:
        m = TRACE_RE.match(line)
        if not m or int(m.group(3), 16) != KVM_RUN:
            continue
        t_real = int(m.group(1)) * 10**9 + int(m.group(2)) * 1000
        runs += 1
        if first_run is None:
            first_run = t_real - r.t0_real
        if guest_real is not None and t_real <= guest_real:
            runs_before_guest += 1
    return first_run, runs_before_guest, runs


def do_splits(a, cmdline, failures):
    sv = {"loaded": [], "console": [], "first": [], "pass": [],
          "debug-exit": [], "exit": []}
    qm = {"first_run": [], "first": [], "pass": [], "exit": [],
          "runs_fw": [], "runs": []}
    for i in range(a.split_runs):
        order = ("s", "q") if i % 2 == 0 else ("q", "s")
        for which in order:
            if which == "s":
                argv = splitvm_argv(a, a.memory, cmdline, verbose=True)
                want = SPLITVM_PASS
            else:
                argv = qemu_argv(a, a.memory, cmdline, trace=True)
                want = QEMU_PASS
            try:
                r = run_vmm(argv, timeout=a.timeout)
                why = check_run(r, want, False)
            except RunError as e:
                r, why = e.run, [str(e)]
            if why:
                failures.append(describe_failure(
                    "splitvm" if which == "s" else "QEMU", argv, r, why))
                print(failures[-1], file=sys.stderr)
                continue
            if which == "s":
                m = splitvm_split(r)
                for k in ("loaded", "console", "debug-exit"):
                    if k in m:
                        sv[k].append(m[k])
                sv["first"].append(r.first_byte)
                sv["pass"].append(r.pass_line)
                sv["exit"].append(r.exit)
            else:
                first_run, fw_runs, runs = qemu_split(r)
                if first_run is not None:
                    qm["first_run"].append(first_run)
                qm["runs_fw"].append(fw_runs)
                qm["runs"].append(runs)
                qm["first"].append(r.first_byte)
                qm["pass"].append(r.pass_line)
                qm["exit"].append(r.exit)
    return sv, qm


def print_splits(sv, qm):
    def cell(v):
        return fmt_range(v, "ms", 1e-6, 2) if v else "-"

    print()
    print("Where the time goes (separate, logging-perturbed runs; times "
          "since exec, median [min-max]):")
    print()
    print("splitvm --verbose (arrival of its stderr debug lines):")
    rows = [
        ["kernel loaded (RAM memfd + ELF/PVH load)", cell(sv["loaded"])],
        ["console set up (KVM VM, irqchip, devices, vCPUs created)",
         cell(sv["console"])],
        ["first guest instruction (vCPU thread start, first KVM_RUN)",
         cell(sv["first"])],
        ["guest printed result=PASS", cell(sv["pass"])],
        ["debug-exit logged", cell(sv["debug-exit"])],
        ["process exited", cell(sv["exit"])],
    ]
    print_table(rows, ["point", "time since exec"])
    print()
    print("QEMU -trace kvm_vcpu_ioctl (its own timestamps, 1 us):")
    rows = [
        ["first KVM_RUN (QEMU set-up done)", cell(qm["first_run"])],
        ["first guest instruction (after qboot firmware + PVH hand-off)",
         cell(qm["first"])],
        ["guest printed result=PASS", cell(qm["pass"])],
        ["process exited", cell(qm["exit"])],
    ]
    print_table(rows, ["point", "time since exec"])
    if qm["runs_fw"]:
        fw = [f - r for f, r in zip(qm["first"], qm["first_run"])] \
            if len(qm["first"]) == len(qm["first_run"]) else []
        print()
        print("QEMU firmware (first KVM_RUN -> first guest byte): %s, "
              "%d KVM_RUN calls (VM exits handled in user space) before "
              "the guest's first byte, %d in the whole run (medians)" % (
                  cell(fw), statistics.median(qm["runs_fw"]),
                  statistics.median(qm["runs"])))


# ---------------------------------------------------------------- main

def main():
    build = find_build_dir()
    p = argparse.ArgumentParser(
        description="Compare splitvm's start-up time and memory footprint "
        "with QEMU -M microvm booting the same test guest, in alternating "
        "runs; print medians, ranges and QEMU/splitvm ratios.",
        epilog="Default paths come from %s (REPO/build, else the newest "
        "REPO/build*/ holding both files). Exit status: 0 all runs passed, "
        "1 a run failed (it is printed and left out), 2 bad usage or "
        "missing programs." % (build or "REPO/build"))
    p.add_argument("--runs", type=int, default=10, metavar="N",
                   help="runs of each VMM for each metric (default 10)")
    p.add_argument("--splitvm", metavar="PATH",
                   default=build and os.path.join(build, "core", "splitvm"),
                   help="splitvm binary (default BUILD/core/splitvm)")
    p.add_argument("--guest", metavar="PATH",
                   default=build and os.path.join(build, "tests", "guest",
                                                  "splitvm-guest.elf"),
                   help="test guest ELF (default BUILD/tests/guest/"
                   "splitvm-guest.elf)")
    p.add_argument("--qemu", metavar="PATH", default="qemu-system-x86_64",
                   help="QEMU binary (default qemu-system-x86_64)")
    p.add_argument("--qemu-machine", metavar="SPEC", default="microvm",
                   help="QEMU -M value (default microvm: qboot firmware, "
                   "option ROMs, ISA serial, PIT, PIC, RTC, ACPI)")
    p.add_argument("--qemu-cpu", metavar="MODEL", default="qemu64",
                   help="QEMU -cpu value (default qemu64; 'host' does not "
                   "work on hosts whose KVM lacks the host's MSRs)")
    p.add_argument("--memory", type=parse_size, default="128M",
                   metavar="SIZE", help="guest RAM for both (default 128M)")
    p.add_argument("--cpus", type=int, default=1, metavar="N",
                   help="vCPUs for both (default 1)")
    p.add_argument("--ticks", type=int, default=1, metavar="N",
                   help="guest.ticks: 100 Hz timer ticks the guest waits "
                   "for before it exits (default 1)")
    p.add_argument("--settle", type=float, default=0.2, metavar="SECONDS",
                   help="wait after 'guest: hanging' before sampling RSS "
                   "(default 0.2)")
    p.add_argument("--check-memory", type=size_or_off, default="1G",
                   metavar="SIZE",
                   help="also sample RSS once at this guest RAM size, to "
                   "show that the RSS metric excludes guest RAM "
                   "(default 1G; 'off' skips)")
    p.add_argument("--split-runs", type=int, default=5, metavar="N",
                   help="extra runs of each VMM with their own logging on, "
                   "to show where the start-up time goes (default 5; 0 "
                   "skips)")
    p.add_argument("--gap", type=float, default=0.0, metavar="SECONDS",
                   help="idle time before each run, so that the kernel's "
                   "clean-up of the previous VMM is not charged to the next "
                   "(default 0)")
    p.add_argument("--raw", action="store_true",
                   help="also print every run's numbers, in run order")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="per-run time-out (default 60)")
    a = p.parse_args()

    for what, path in (("splitvm", a.splitvm), ("guest", a.guest)):
        if not path or not os.path.isfile(path):
            p.error("no %s binary at %s; build first (meson setup build && "
                    "ninja -C build) or pass --%s" % (what, path, what))
    a.splitvm = os.path.abspath(a.splitvm)
    a.guest = os.path.abspath(a.guest)
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        p.error("/dev/kvm is not usable here")
    if a.runs < 1 or a.cpus < 1:
        p.error("--runs and --cpus must be at least 1")

    cmdline = "guest.ticks=%d" % a.ticks
    hang_cmdline = cmdline + " guest.exit=hang"

    print("Boot time and footprint: splitvm vs QEMU -M %s" % a.qemu_machine)
    host_info(a)
    print("config:   %d run(s) each, alternating; --memory %s, %d vCPU(s), "
          "guest cmdline \"%s\"" % (a.runs, a.memory, a.cpus, cmdline))
    print("splitvm:  %s" % " ".join(splitvm_argv(a, a.memory, cmdline)))
    print("qemu:     %s" % " ".join(qemu_argv(a, a.memory, cmdline)))
    idle_others = busy_check()
    print("load:     %s; other processes used %.0f%% of the machine's CPU "
          "in the last second" % (open("/proc/loadavg").read().strip(),
                                  100 * idle_others))
    if idle_others > 0.1:
        print("WARNING:  the machine is busy; the times below will be "
              "inflated and noisy")
    monitor = CpuMonitor()
    floor = spawn_floor(max(5, a.runs))
    print("spawn floor (exec -> exit of /bin/true from this script): %s" %
          fmt_range(floor, "ms", 1e-6, 2))
    sys.stdout.flush()

    failures = []
    res = {k: [] for k in ("s_first", "s_exit", "q_first", "q_exit",
                           "s_rss", "q_rss", "q_anon_rss",
                           "s_vmrss", "q_vmrss", "q_anon_vmrss",
                           "s_shmem", "q_shmem", "s_guest", "q_guest",
                           "s_down", "q_down")}

    def attempt(name, argv, want, hang):
        time.sleep(a.gap)
        try:
            r = run_vmm(argv, hang=hang, settle=a.settle, timeout=a.timeout)
            why = check_run(r, want, hang)
        except RunError as e:
            r, why = e.run, [str(e)]
        if why:
            failures.append(describe_failure(name, argv, r, why))
            print(failures[-1], file=sys.stderr)
            return None
        return r

    def one(which):
        if which == "s":
            r = attempt("splitvm", splitvm_argv(a, a.memory, cmdline),
                        SPLITVM_PASS, False)
            if r:
                res["s_first"].append(r.first_byte)
                res["s_exit"].append(r.exit)
                res["s_guest"].append(r.pass_line - r.first_byte)
                res["s_down"].append(r.exit - r.pass_line)
            r = attempt("splitvm (hang)",
                        splitvm_argv(a, a.memory, hang_cmdline),
                        SPLITVM_TERM, True)
            if r:
                res["s_rss"].append(r.rss["RssAnon"] + r.rss["RssFile"])
                res["s_vmrss"].append(r.rss["VmRSS"])
                res["s_shmem"].append(r.rss["RssShmem"])
        else:
            r = attempt("QEMU", qemu_argv(a, a.memory, cmdline),
                        QEMU_PASS, False)
            if r:
                res["q_first"].append(r.first_byte)
                res["q_exit"].append(r.exit)
                res["q_guest"].append(r.pass_line - r.first_byte)
                res["q_down"].append(r.exit - r.pass_line)
            r = attempt("QEMU (hang)", qemu_argv(a, a.memory, hang_cmdline),
                        QEMU_TERM, True)
            if r:
                res["q_rss"].append(r.rss["RssAnon"] + r.rss["RssFile"])
                res["q_vmrss"].append(r.rss["VmRSS"])
                res["q_shmem"].append(r.rss["RssShmem"])
            r = attempt("QEMU (hang, anonymous RAM)",
                        qemu_argv(a, a.memory, hang_cmdline, memfd=False),
                        QEMU_TERM, True)
            if r:
                res["q_anon_rss"].append(r.rss["RssAnon"] +
                                         r.rss["RssFile"])
                res["q_anon_vmrss"].append(r.rss["VmRSS"])

    for i in range(a.runs):
        for which in (("s", "q") if i % 2 == 0 else ("q", "s")):
            one(which)
        print("  run %d/%d done" % (i + 1, a.runs), file=sys.stderr)

    check = None
    if a.check_memory and a.check_memory != a.memory:
        check = {}
        r = attempt("splitvm (hang, %s)" % a.check_memory,
                    splitvm_argv(a, a.check_memory, hang_cmdline),
                    SPLITVM_TERM, True)
        if r:
            check["s"] = r.rss
        r = attempt("QEMU (hang, %s)" % a.check_memory,
                    qemu_argv(a, a.check_memory, hang_cmdline),
                    QEMU_TERM, True)
        if r:
            check["q"] = r.rss

    sv = qm = None
    if a.split_runs > 0:
        sv, qm = do_splits(a, cmdline, failures)

    def n(v):
        return "" if len(v) == a.runs else " (%d valid)" % len(v)

    def t(v):
        return fmt_range(v, "ms", 1e-6, 1) + n(v) if v else "no valid run"

    def kb(v):
        return (fmt_range(v, "MiB", 1 / 1024, 2) + n(v) if v
                else "no valid run")

    print()
    print("Results: median [min-max] over %d run(s) each; ratio = QEMU "
          "median / splitvm median" % a.runs)
    print()
    rows = [
        ["exec -> first guest instruction", t(res["s_first"]),
         t(res["q_first"]), ratio(res["q_first"], res["s_first"])],
        ["exec -> VMM exit (guest PASS)", t(res["s_exit"]),
         t(res["q_exit"]), ratio(res["q_exit"], res["s_exit"])],
        ["RSS excl. guest RAM (RssAnon+RssFile)", kb(res["s_rss"]),
         kb(res["q_rss"]), ratio(res["q_rss"], res["s_rss"])],
    ]
    print_table(rows, ["metric", "splitvm", "QEMU microvm", "QEMU/splitvm"])
    print()
    print("The exit time, split (same runs):")
    rows = [
        ["exec -> first guest instruction", t(res["s_first"]),
         t(res["q_first"]), ratio(res["q_first"], res["s_first"])],
        ["guest runs: first instruction -> PASS line", t(res["s_guest"]),
         t(res["q_guest"]), ratio(res["q_guest"], res["s_guest"])],
        ["tear-down: PASS line -> VMM exit", t(res["s_down"]),
         t(res["q_down"]), ratio(res["q_down"], res["s_down"])],
    ]
    print_table(rows, ["phase", "splitvm", "QEMU microvm", "QEMU/splitvm"])
    others = monitor.others()
    print()
    print("Other processes used %.0f%% of the machine's CPU during the "
          "benchmark%s" % (100 * others, " (the machine was NOT quiet)"
                            if others > 0.1 else ""))
    print()
    print("As-is, guest RAM included (guest touches only a few hundred KiB):")
    rows = [
        ["VmRSS, guest RAM in a memfd", kb(res["s_vmrss"]),
         kb(res["q_vmrss"])],
        ["  of which RssShmem (guest RAM)", kb(res["s_shmem"]),
         kb(res["q_shmem"])],
        ["QEMU default anonymous RAM: VmRSS", "-", kb(res["q_anon_vmrss"])],
        ["QEMU default anonymous RAM: RssAnon+RssFile", "-",
         kb(res["q_anon_rss"])],
    ]
    print_table(rows, ["metric", "splitvm", "QEMU microvm"])

    if check is not None:
        print()
        print("Exclusion check, one run at --memory %s (RssAnon+RssFile / "
              "RssShmem):" % a.check_memory)
        for key, name, base in (("s", "splitvm", res["s_rss"]),
                                ("q", "QEMU", res["q_rss"])):
            if key in check and base:
                c = check[key]
                print("  %-8s %.2f MiB / %.2f MiB at %s  (median at %s: "
                      "%.2f MiB)" % (
                          name, (c["RssAnon"] + c["RssFile"]) / 1024,
                          c["RssShmem"] / 1024, a.check_memory,
                          a.memory, statistics.median(base) / 1024))

    s_first, q_first = res["s_first"], res["q_first"]
    s_rss = res["s_rss"]
    print()
    print("Targets:")
    if s_first and q_first:
        r1 = statistics.median(q_first) / statistics.median(s_first)
        r2 = (statistics.median(res["q_exit"]) /
              statistics.median(res["s_exit"])
              if res["q_exit"] and res["s_exit"] else 0)
        print("  start >= 5x faster than QEMU microvm: exec -> first "
              "instruction %.1fx (%s), exec -> exit %.1fx (%s)" % (
                  r1, "met" if r1 >= 5 else "MISSED", r2,
                  "met" if r2 >= 5 else "MISSED"))
    else:
        print("  start >= 5x faster than QEMU microvm: cannot tell, no "
              "valid run of one of them")
    if s_rss:
        m = statistics.median(s_rss) / 1024
        print("  RSS excl. guest RAM < 4 MiB: %.2f MiB (%s)" % (
            m, "met" if m < 4 else "MISSED"))

    if sv is not None:
        print_splits(sv, qm)

    if a.raw:
        print()
        print("Raw values in run order (ms; RSS in KiB):")
        for key in sorted(res):
            scale = 1 if "rss" in key or "shmem" in key else 1e-6
            print("  %-14s %s" % (key, " ".join(
                "%.1f" % (v * scale) for v in res[key])))

    if failures:
        print()
        print("%d run(s) FAILED and were left out (details on stderr)" %
              len(failures))
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)

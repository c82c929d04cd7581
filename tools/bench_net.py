#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Network data path: splitvm against QEMU as the VMM, same guest, same
back-end.

One dpdk-testpmd (net_vhost PMD, a vhost-user server, macswap forwarding
by default) serves every run; splitvm and qemu-system-x86_64 connect to
its socket in turn as vhost-user clients, alternating (splitvm, QEMU,
QEMU, splitvm, ...).  Each run boots the test guest
(tests/guest/splitvm-guest.elf, PVH entry) with

  guest.net=F      F frames (at most 32 in flight, one receive buffer
                   each) through testpmd and back, every one verified;
                   the guest times the traffic with its TSC (calibrated
                   against the PIT) and prints frames per second: VMM
                   start-up, firmware and device set-up are not in it;
                   also the median rate of its 16 chunks of F/16 frames,
                   which leaves out the chunks a host preemption hit.
  guest.net_rtt=R  R round trips of one frame each: TSC read, transmit
                   kick, then the CPL3 loop waits until the receive
                   queue's MSI-X interrupt has run its (CPL0) handler;
                   the guest prints min, median, p99 and max in ns.
  guest.net_rtt_kick=both
                   R of them with the kick testpmd asks for: none, it
                   polls and sets VRING_USED_F_NO_NOTIFY, so the kick is
                   only the avail index the guest publishes; then R with
                   the doorbell written every round anyway (an MMIO write
                   to the VMM's ioeventfd).
  guest.ring=split|packed
                   the virtqueue layout, the same for both VMMs (--ring;
                   QEMU gets packed=on|off to match): left to the guest,
                   splitvm would run packed and QEMU split.

so both VMMs are measured by the same guest code on the same KVM; what
differs is how each VMM wires the data path: splitvm hands testpmd the
guest's memory, an ioeventfd for kicks and an irqfd for the MSI-X vector;
QEMU (-netdev vhost-user) does the same through its own code.

QEMU runs -M pc (i440fx, PCI host bridge at ports 0xcf8/0xcfc, which the
guest needs) with its default SeaBIOS: qboot, the fast firmware, leaves
PCI BARs unassigned and the guest does not assign them.  SeaBIOS takes
about 3 s here (it runs at emulated CPL0); it is excluded from both
metrics and printed apart.

A run that fails (wrong exit status, no PASS, counts short) is printed and
never contributes a number; any failure makes the exit status 1.  This is
a benchmark, not a test: it needs /dev/kvm, qemu-system-x86_64 and
dpdk-testpmd, and takes about 5 s per QEMU run.
"""

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile

TOOLS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
sys.path.insert(0, os.path.join(REPO, "tests", "pylib"))
import bench_boot  # noqa: E402
import testpmd  # noqa: E402

PASS_LINE = b"guest: result=PASS"
MAC = "52:54:00:12:34:56"
RATE_RE = re.compile(rb"guest: net \S+ rate frames=(\d+) elapsed_ns=(\d+) "
                     rb"frames_per_s=(\d+) tsc_khz=(\d+) chunks=(\d+) "
                     rb"chunk_frames=(\d+) chunk_median_fps=(\d+) "
                     rb"chunk_max_fps=(\d+)")
RTT_RE = re.compile(rb"guest: net_rtt \S+ kick=(device|always) "
                    rb"rounds=(\d+) warmup=(\d+) "
                    rb"irqs=(\d+) stray_irqs=(\d+) tx_kicks=(\d+) "
                    rb"tx_suppressed=(\d+) tsc_khz=(\d+) tsc_cal_ppm=(\d+) "
                    rb"min_ns=(\d+) median_ns=(\d+) p99_ns=(\d+) "
                    rb"max_ns=(\d+)")
# Every net line that names the layout: the features line, the RTT lines.
RING_RE = re.compile(rb"guest: net\S* \S+ .*ring=(split|packed)")
KICKS = ("device", "always")
RTT_KEYS = ("rounds", "warmup", "irqs", "stray", "tx_kicks",
            "tx_suppressed", "tsc_khz", "tsc_ppm", "min", "median", "p99",
            "max")


# ---------------------------------------------------------------- commands

def guest_cmdline(a):
    return ("guest.ticks=1 guest.net=%d guest.net_rtt=%d "
            "guest.net_rtt_kick=both guest.ring=%s"
            % (a.frames, a.rounds, a.ring))


def pin(a):
    return ["taskset", "-c", a.vmm_cpus] if a.vmm_cpus else []


def splitvm_argv(a, sock):
    return pin(a) + [a.splitvm, "--kernel", a.guest, "--cpus", "1",
            "--memory", a.memory, "--net", "socket=%s,mac=%s" % (sock, MAC),
            "--cmdline", guest_cmdline(a)]


def qemu_argv(a, sock):
    return pin(a) + [a.qemu, "-M", a.qemu_machine, "-enable-kvm",
            "-cpu", a.qemu_cpu, "-m", a.memory, "-smp", "1",
            "-nodefaults", "-no-user-config", "-display", "none",
            "-serial", "stdio",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=1",
            # vhost-user needs guest RAM the back-end can map.
            "-object", "memory-backend-memfd,id=mem,size=%s,share=on" %
            a.memory, "-machine", "memory-backend=mem",
            "-chardev", "socket,id=net0,path=%s" % sock,
            "-netdev", "vhost-user,chardev=net0,id=n0",
            # Modern only, as splitvm; no iPXE option ROM to run.
            "-device", "virtio-net-pci,netdev=n0,disable-legacy=on,"
            "romfile=,mac=%s,packed=%s"
            % (MAC, "on" if a.ring == "packed" else "off"),
            "-kernel", a.guest, "-append", guest_cmdline(a)]


# ---------------------------------------------------------------- one run

def parse_run(a, r, want_status):
    """(numbers, []) or (None, reasons the run must not count)."""
    bad = []
    if r.status != want_status:
        bad.append("exit status %d, expected %d" % (r.status, want_status))
    if PASS_LINE not in r.stdout:
        bad.append("no '%s' on the console" % PASS_LINE.decode())
    m = RATE_RE.search(r.stdout)
    rtt = {k.decode(): v for k, *v in RTT_RE.findall(r.stdout)}
    if not m:
        bad.append("no guest.net rate line")
    elif int(m.group(1)) != a.frames:
        bad.append("%s frames verified of %d" % (m.group(1).decode(),
                                                 a.frames))
    rings = set(RING_RE.findall(r.stdout))
    if rings != {a.ring.encode()}:
        bad.append("virtqueue layout %s, asked for %s" % (
            ",".join(sorted(x.decode() for x in rings)) or "unknown",
            a.ring))
    for kick in KICKS:
        if kick not in rtt:
            bad.append("no guest.net_rtt kick=%s line" % kick)
        elif int(rtt[kick][0]) != a.rounds:
            bad.append("kick=%s: %s round trips of %d" % (
                kick, rtt[kick][0].decode(), a.rounds))
    if bad:
        return None, bad
    res = {"fps": int(m.group(3)), "chunk_fps": int(m.group(7)),
           "start": (r.first_byte if r.stdout.startswith(b"\nguest: hello")
                     else None)}
    for kick in KICKS:
        res.update(("%s_%s" % (kick, k), int(x))
                   for k, x in zip(RTT_KEYS, rtt[kick]))
    return res, []


# ---------------------------------------------------------------- report

def fmt(values, scale, unit, digits):
    if not values:
        return "no valid run"
    med, lo, hi = (v * scale for v in bench_boot.stats(values))
    f = "%%.%df" % digits
    return "%s%s [%s-%s]" % (f % med, " " + unit if unit else "", f % lo,
                             f % hi)


def ratio(num, den):
    if not num or not den:
        return "-"
    return "%.2f" % (statistics.median(num) / statistics.median(den))


def overlap(x, y):
    return bool(x and y) and min(x) <= max(y) and min(y) <= max(x)


def drop_bad_calibration(res, failures):
    """Leave out runs whose guest measured a TSC rate 1 % or more away
    from the median of all runs: every number of such a run is off by
    the same factor (the guest rejects the one failure mode seen, a
    preemption hiding a turn of the PIT counter, but this costs
    nothing)."""
    khz = [v["device_tsc_khz"] for w in "sq" for v in res[w]]
    if not khz:
        return
    med = statistics.median(khz)
    for w in "sq":
        keep = []
        for v in res[w]:
            if abs(v["device_tsc_khz"] - med) * 100 >= med:
                failures.append("%s run %d: the guest measured a TSC of %d "
                                "kHz, the median of all runs is %d kHz" % (
                                    "splitvm" if w == "s" else "QEMU",
                                    v["pair"] + 1, v["device_tsc_khz"],
                                    med))
                print(failures[-1], file=sys.stderr)
            else:
                keep.append(v)
        res[w] = keep


def main():
    build = bench_boot.find_build_dir()
    p = argparse.ArgumentParser(
        description="Compare splitvm's network data path with QEMU's: the "
        "same test guest, the same dpdk-testpmd back-end, alternating "
        "runs; print medians, ranges and ratios of guest-measured frames "
        "per second and kick-to-interrupt round trip.",
        epilog="Default paths come from %s. Exit status: 0 all runs "
        "passed, 1 a run failed (it is printed and left out), 2 bad usage "
        "or missing programs." % (build or "REPO/build"))
    p.add_argument("--runs", type=int, default=10, metavar="N",
                   help="runs of each VMM (default 10)")
    p.add_argument("--frames", type=int, default=65536, metavar="N",
                   help="guest.net: frames per run (default and most "
                   "65536)")
    p.add_argument("--rounds", type=int, default=5000, metavar="N",
                   help="guest.net_rtt: round trips per run (default "
                   "5000, at most 65536)")
    p.add_argument("--ring", default="split", choices=("split", "packed"),
                   help="virtqueue layout for both VMMs: guest.ring= and "
                   "QEMU's packed= (default split, QEMU's default; the "
                   "guest's own default would take packed from testpmd "
                   "under splitvm only)")
    p.add_argument("--forward-mode", default="macswap",
                   choices=("macswap", "io"),
                   help="testpmd forwarding (default macswap)")
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
    p.add_argument("--qemu-machine", metavar="SPEC", default="pc",
                   help="QEMU -M value (default pc: i440fx and SeaBIOS, "
                   "which assigns the PCI BARs)")
    p.add_argument("--qemu-cpu", metavar="MODEL", default="qemu64",
                   help="QEMU -cpu value (default qemu64)")
    p.add_argument("--memory", type=bench_boot.parse_size, default="128M",
                   metavar="SIZE", help="guest RAM for both (default 128M)")
    p.add_argument("--vmm-cpus", metavar="LIST",
                   help="run both VMMs (all their threads) under taskset "
                   "-c LIST, e.g. 0, away from testpmd's forwarding lcore "
                   "(1); default: let the scheduler place them")
    p.add_argument("--raw", action="store_true",
                   help="also print every run's numbers, in run order")
    p.add_argument("--timeout", type=float, default=180.0,
                   metavar="SECONDS", help="per-run time-out (default 180)")
    a = p.parse_args()

    for what, path in (("splitvm", a.splitvm), ("guest", a.guest)):
        if not path or not os.path.isfile(path):
            p.error("no %s binary at %s; build first (meson setup build && "
                    "ninja -C build) or pass --%s" % (what, path, what))
    a.splitvm = os.path.abspath(a.splitvm)
    a.guest = os.path.abspath(a.guest)
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        p.error("/dev/kvm is not usable here")
    if testpmd.binary() is None:
        p.error("dpdk-testpmd is not installed (Debian package dpdk-dev)")
    if shutil.which(a.qemu) is None:
        p.error("no QEMU at %s (Debian package qemu-system-x86)" % a.qemu)
    if a.vmm_cpus and shutil.which("taskset") is None:
        p.error("--vmm-cpus needs taskset (Debian package util-linux)")
    if a.runs < 1 or not 1 <= a.frames <= 65536 or \
            not 1 <= a.rounds <= 65536:
        p.error("--runs at least 1; --frames and --rounds 1..65536")

    tmp = tempfile.mkdtemp(prefix="splitvm-bench-net-")
    sock = os.path.join(tmp, "net.sock")
    tp = testpmd.Testpmd(sock, "splitvm-bench-net-%d" % os.getpid(),
                         forward_mode=a.forward_mode,
                         log_path=os.path.join(tmp, "testpmd.log"))
    try:
        return bench(a, tp, sock)
    finally:
        tp.stop()
        for name in ("net.sock", "testpmd.log"):
            if os.path.exists(os.path.join(tmp, name)):
                os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)


def bench(a, tp, sock):
    print("Network data path: splitvm vs QEMU -M %s, guest-measured, "
          "through dpdk-testpmd" % a.qemu_machine)
    bench_boot.host_info(a)
    print("testpmd:  %s" % " ".join(tp.argv()))
    print("config:   %d run(s) each, alternating; --memory %s, 1 vCPU, "
          "guest cmdline \"%s\"" % (a.runs, a.memory, guest_cmdline(a)))
    print("splitvm:  %s" % " ".join(splitvm_argv(a, sock)))
    print("qemu:     %s" % " ".join(qemu_argv(a, sock)))
    idle_others = bench_boot.busy_check()
    print("load:     %s; other processes used %.0f%% of the machine's CPU "
          "in the last second" % (open("/proc/loadavg").read().strip(),
                                  100 * idle_others))
    if idle_others > 0.1:
        print("WARNING:  the machine is busy; the numbers below will be "
              "noisy")
    sys.stdout.flush()
    if not tp.start():
        print("testpmd did not start:\n%s" % tp.log()[-2000:],
              file=sys.stderr)
        return 1
    # testpmd takes about 0.8 s to answer its first vhost-user connection
    # (later ones: milliseconds): one uncounted run, so that neither VMM's
    # first start-up pays for it.
    try:
        bench_boot.run_vmm(splitvm_argv(a, sock), timeout=a.timeout)
    except bench_boot.RunError:
        pass
    monitor = bench_boot.CpuMonitor()

    failures = []
    res = {"s": [], "q": []}
    want = {"s": bench_boot.SPLITVM_PASS, "q": bench_boot.QEMU_PASS}
    for i in range(a.runs):
        for which in (("s", "q") if i % 2 == 0 else ("q", "s")):
            name = "splitvm" if which == "s" else "QEMU"
            argv = (splitvm_argv if which == "s" else qemu_argv)(a, sock)
            if not tp.running():
                failures.append("testpmd exited:\n%s" % tp.log()[-2000:])
                print(failures[-1], file=sys.stderr)
                return 1
            try:
                r = bench_boot.run_vmm(argv, timeout=a.timeout)
                nums, why = parse_run(a, r, want[which])
            except bench_boot.RunError as e:
                r, nums, why = e.run, None, [str(e)]
            if why:
                failures.append(bench_boot.describe_failure(name, argv, r,
                                                            why))
                print(failures[-1], file=sys.stderr)
                continue
            nums["pair"] = i
            res[which].append(nums)
        print("  run %d/%d done" % (i + 1, a.runs), file=sys.stderr)
    log = tp.stop()		# reaped: its CPU time counts as this script's
    others = monitor.others()
    drop_bad_calibration(res, failures)

    def col(which, key):
        return [n[key] for n in res[which] if n[key] is not None]

    def paired(key, higher_better):
        """splitvm's advantage within each pair of back-to-back runs,
        which sit on the same level of this machine's speed more often
        than runs minutes apart: median [min-max] of the ratios."""
        q_by_pair = {v["pair"]: v[key] for v in res["q"]}
        r = [(v[key] / q_by_pair[v["pair"]] if higher_better else
              q_by_pair[v["pair"]] / v[key])
             for v in res["s"] if q_by_pair.get(v["pair"]) and v[key]]
        return fmt(r, 1, "", 2) if r else "-"

    def n(which):
        return "" if len(res[which]) == a.runs else \
            " (%d valid)" % len(res[which])

    s_fps, q_fps = col("s", "fps"), col("q", "fps")
    print()
    print("Results: median [min-max] over %d run(s) each; the RTT rows "
          "take each run's own median (or p99) of %d round trips" %
          (a.runs, a.rounds))
    print()
    rows = [
        ["frames/s (guest.net=%d, %s, %s)" % (a.frames, a.forward_mode,
                                             a.ring),
         fmt(s_fps, 1e-6, "Mfps", 3) + n("s"),
         fmt(q_fps, 1e-6, "Mfps", 3) + n("q"),
         ratio(s_fps, q_fps), paired("fps", True), "higher"],
        ["  median of its 16 chunks (preemptions left out)",
         fmt(col("s", "chunk_fps"), 1e-6, "Mfps", 3),
         fmt(col("q", "chunk_fps"), 1e-6, "Mfps", 3),
         ratio(col("s", "chunk_fps"), col("q", "chunk_fps")),
         paired("chunk_fps", True), "higher"],
    ]
    for key, label in (
            ("device_median", "RTT, kick as testpmd asks (none), median"),
            ("device_p99", "  p99"), ("device_min", "  min"),
            ("always_median", "RTT, doorbell every round, median"),
            ("always_p99", "  p99"), ("always_min", "  min")):
        s, q = col("s", key), col("q", key)
        rows.append([label, fmt(s, 1e-3, "us", 1), fmt(q, 1e-3, "us", 1),
                     ratio(q, s), paired(key, False), "lower"])
    bench_boot.print_table(rows, ["metric", "splitvm",
                                  "QEMU -M %s" % a.qemu_machine,
                                  "advantage", "per pair", "better"])
    print("(advantage: splitvm/QEMU for frames/s, QEMU/splitvm for times, "
          "above 1 = splitvm better; of the medians, and per pair of "
          "back-to-back runs)")
    print()
    print("Also measured (same runs):")
    rows = [
        ["exec -> first guest instruction (incl. firmware)",
         fmt(col("s", "start"), 1e-6, "ms", 1),
         fmt(col("q", "start"), 1e-6, "ms", 1)],
        ["TSC kHz the guest measured (PIT)",
         fmt(col("s", "device_tsc_khz"), 1, "", 0),
         fmt(col("q", "device_tsc_khz"), 1, "", 0)],
        ["  its error bound, ppm",
         fmt(col("s", "device_tsc_ppm"), 1, "", 0),
         fmt(col("q", "device_tsc_ppm"), 1, "", 0)],
        ["stray interrupts per run (no frame)",
         fmt([a + b for a, b in zip(col("s", "device_stray"),
                                    col("s", "always_stray"))], 1, "", 0),
         fmt([a + b for a, b in zip(col("q", "device_stray"),
                                    col("q", "always_stray"))], 1, "", 0)],
        ["doorbells written per run, kick as testpmd asks",
         fmt(col("s", "device_tx_kicks"), 1, "", 0),
         fmt(col("q", "device_tx_kicks"), 1, "", 0)],
    ]
    bench_boot.print_table(rows, ["", "splitvm", "QEMU"])
    stats = testpmd.port0_stats(log)
    if stats:
        print("testpmd port 0 over the whole benchmark: RX %d, TX %d "
              "packets" % stats)
    print()
    print("Other processes used %.0f%% of the machine's CPU during the "
          "benchmark%s" % (100 * others, " (the machine was NOT quiet)"
                            if others > 0.1 else ""))

    print()
    print("Target: splitvm at least equal to QEMU on both:")
    for label, s, q, better_high in (
            ("frames/s", s_fps, q_fps, True),
            ("frames/s, median chunk", col("s", "chunk_fps"),
             col("q", "chunk_fps"), True),
            ("RTT median, no doorbell", col("s", "device_median"),
             col("q", "device_median"), False),
            ("RTT median, doorbell", col("s", "always_median"),
             col("q", "always_median"), False)):
        if not s or not q:
            print("  %-24s cannot tell, no valid run of one of them" % label)
            continue
        ms, mq = statistics.median(s), statistics.median(q)
        met = ms >= mq if better_high else ms <= mq
        print("  %-24s %s: splitvm %s, QEMU %s (splitvm %+.1f%%)%s" % (
            label, "met" if met else "MISSED",
            *(("%.3f Mfps" % (v / 1e6)) if better_high else
              ("%.1f us" % (v / 1e3)) for v in (ms, mq)),
            100 * (ms - mq) / mq,
            "; the ranges overlap" if overlap(s, q) else ""))

    if a.raw:
        print()
        print("Raw values in run order:")
        for which, name in (("s", "splitvm"), ("q", "QEMU")):
            for key in ("fps", "chunk_fps", "device_median", "device_p99",
                        "device_max", "always_median", "always_p99",
                        "always_max", "start"):
                print("  %-8s %-13s %s" % (name, key, " ".join(
                    str(v) for v in col(which, key))))

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

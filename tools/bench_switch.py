#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-net forwarding against its peers: cross-connect vs dpdk-testpmd
io, L2 switch vs OVS-DPDK, and idle cost and wake-up latency.

The forwarder under test always runs on CPU 0; the traffic process, one
dpdk-testpmd with two virtio-user ports, runs on CPU 1 (main and
forwarding lcore), so no third busy poller shares the two CPUs.

  xconnect  splitvm-net --mode xconnect --busy-poll  vs  testpmd io between
            two net_vhost ports (--record-core-cycles); traffic: testpmd
            flowgen (open loop, both directions)
  switch    splitvm-net --mode switch --busy-poll  vs  OVS-DPDK, a netdev
            bridge with two dpdkvhostuser ports and its NORMAL action (L2
            learning; --ovs-flows inport: in_port flows instead); traffic:
            a closed loop of 256 frames A->B, B->A with distinct MACs
            (flowgen's frames all carry one source MAC, which would flap
            between the ports and be flooded)
  idle      splitvm-net in its default adaptive mode (switch) vs testpmd io
            vs OVS-DPDK: CPU used with both ports connected and silent,
            then the round trip of a frame sent after 10 ms, 100 ms and 1 s
            of silence (splitvm-drive --net --gap-us on port 0, a testpmd
            macswap reflector on port 1), and back to back as a reference
  vlan      splitvm-net --mode switch --busy-poll with port 0 vlan=10 and
            port 1 trunk=10 (every frame gets a tag pushed or popped) vs
            the same without VLANs; the switch's loop traffic; no OVS
            needed (not in the default --compare)

Runs alternate between the forwarders (A B B A ...). Per run: Mpps and
Gbit/s received by the traffic process (median of its per-second rates over
the measuring window), cycles/packet from each forwarder's own counters,
CPU used and CPU lost to preemption by the forwarder over the window, and
"CPU cycles per packet delivered": the CPU time the forwarder actually ran
over the window times the clock rate, divided by the frames the traffic
process received (immune to preemption, but idle polls count too, so it
is a cost only when the forwarder is the bottleneck).
Cycles/packet count TSC cycles, so a forwarder preempted inside a busy
round is charged for the time it did not run: runs in which it waited more
than --max-wait of the window are listed but left out of the medians, as
long as each forwarder has a run under it (else both are shown with all
their runs). The ratios between each repetition's two back-to-back runs
are printed as well. Runs that moved nothing, or in which a switch did not
learn the traffic's addresses, are left out with the reason.
A benchmark program, not a test.
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import bench_switch_procs as bp

GAPS_US = [10000, 100000, 1000000]
GAP_COUNT = {1: 200, 10000: 40, 100000: 12, 1000000: 4}


def tsc_hz():
    """The CPU clock as the kernel reports it (the TSC's, on this host)."""
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("cpu MHz"):
                return float(ln.split(":")[1]) * 1e6
    return 0.0


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(vals, spec):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a"
    return (f"{statistics.median(vals):{spec}} "
            f"[{min(vals):{spec}}-{max(vals):{spec}}]")


def make_dut(args, kind, tmp, n, busy=True):
    if kind == "splitvm-net-xc":
        return bp.SplitvmNet(args.splitvm_net, "xconnect", busy, tmp, n)
    if kind == "baseline-xc":
        return bp.SplitvmNet(args.baseline, "xconnect", busy, tmp, n)
    if kind == "splitvm-net-sw":
        return bp.SplitvmNet(args.splitvm_net, "switch", busy, tmp, n)
    if kind == "splitvm-net-trunk":
        # Every frame gets a tag pushed (to the trunk) or popped (from it).
        return bp.SplitvmNet(args.splitvm_net, "switch", busy, tmp, n,
                             (",vlan=10", ",trunk=10"))
    if kind == "testpmd":
        return bp.TestpmdIo(args.testpmd, tmp, n)
    return bp.Ovs(args.ovs_vswitchd, args.ovs_flows, tmp, n)


def connect(dut):
    if not bp.wait_for(dut.ready, 60):
        raise RuntimeError(f"{dut.name} did not create its sockets")
    for s in dut.socks:
        os.chmod(s, 0o777)


def ticks(drv, seconds):
    """Sleep, having the traffic process report once a second."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        drv.tick()


def check_run(dut, traffic, pps):
    """Raise when the run did not do what it should."""
    if not pps:
        raise RuntimeError("the traffic process received nothing")
    if traffic != "loop":
        return
    # The loop's frames have two known addresses: a switch that learned
    # them floods only the first few.
    if isinstance(dut, bp.SplitvmNet) and dut.flood_share > 0.01:
        raise RuntimeError(f"splitvm-net flooded {dut.flood_share:.1%} of "
                           "the frames: it did not learn")
    if isinstance(dut, bp.Ovs) and not getattr(dut, "learned", True):
        raise RuntimeError("OVS-DPDK's MAC table lacks the traffic's "
                           "addresses")


def run_traffic(args, kind, traffic, size, tmp, n):
    dut = make_dut(args, kind, tmp, n)
    drv = None
    try:
        connect(dut)
        drv = bp.Traffic(args.testpmd, traffic, size, dut.socks, tmp, n,
                         packed=args.ring == "packed")
        ticks(drv, args.warmup)
        dut.mark()
        c0, w0, t0 = bp.cpu_seconds(dut.pid), bp.run_delays(dut.pid), \
            time.monotonic()
        ticks(drv, args.seconds)
        c1, w1, t1 = bp.cpu_seconds(dut.pid), bp.run_delays(dut.pid), \
            time.monotonic()
        dut.window_end()
        pairs = drv.close()
        drv = None
        skip = int(args.warmup)
        window = pairs[skip:skip + int(args.seconds)] or pairs
        pps = statistics.median(window) if window else 0
        whole, win = dut.finish()
        check_run(dut, traffic, pps)
        cpu = (c1 - c0) / (t1 - t0)
        return {"mpps": pps / 1e6,
                # What the forwarder spent per frame delivered, counting only
                # time it ran: immune to preemption, but idle polls count.
                "cpu_cpp": cpu * tsc_hz() / pps if pps else None,
                "gbps": pps * (size + 20) * 8 / 1e9,   # + preamble, IFG
                "cpp": whole if traffic == "flowgen" else win,
                "cpu": cpu,
                "wait": bp.max_wait(w0, w1) / (t1 - t0)}
    finally:
        if drv:
            drv.close()
        dut.finish()


def run_idle(args, kind, tmp, n):
    """CPU over --idle-seconds with silent ports, then the round trips."""
    dut = make_dut(args, kind, tmp, n, busy=False)
    drv = refl = None
    res = {"lat": {}}
    try:
        connect(dut)
        drv = bp.Traffic(args.testpmd, "silent", 64, dut.socks, tmp, n,
                         packed=args.ring == "packed")
        time.sleep(args.warmup)
        c0, w0, t0 = bp.cpu_seconds(dut.pid), bp.run_delays(dut.pid), \
            time.monotonic()
        time.sleep(args.idle_seconds)
        c1, w1, t1 = bp.cpu_seconds(dut.pid), bp.run_delays(dut.pid), \
            time.monotonic()
        res["cpu"] = (c1 - c0) / (t1 - t0)
        res["wait"] = bp.max_wait(w0, w1) / (t1 - t0)
        drv.close()
        drv = None
        refl = bp.Reflector(args.testpmd, dut.socks[1], tmp, n)
        time.sleep(1)
        for gap in [1] + GAPS_US:
            r, why = bp.drive_gap(args.drive, dut.socks[0], gap,
                                  GAP_COUNT[gap], 60,
                                  GAP_COUNT[gap] * (gap / 1e6 + 2) + 30)
            if r is None:
                print(f"  idle run {n} {kind} gap {gap} us: {why}",
                      flush=True)
            res["lat"][gap] = r
        return res
    finally:
        if refl:
            refl.close()
        if drv:
            drv.close()
        dut.finish()


def host_line(args):
    rev = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(
        __file__)), "describe", "--always", "--dirty"],
        capture_output=True, text=True).stdout.strip() or "?"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    return (f"Linux {platform.release()}, {os.cpu_count()} CPUs "
            f"\"{cpu}\", splitvm git {rev}, {args.ring} rings")


def chosen(results, size, kinds, max_wait):
    """The runs the table and the ratios use: for both forwarders the runs
    under --max-wait when each has at least one, else all runs of both
    (so that a side is never compared on its clean runs against the
    other's preempted ones). Second value: whether they are all runs."""
    ra = results.get((size, kinds[0][0]), [])
    rb = results.get((size, kinds[1][0]), [])
    ca = [r for r in ra if r["wait"] <= max_wait]
    cb = [r for r in rb if r["wait"] <= max_wait]
    if ca and cb:
        return ca, cb, False
    return ra, rb, True


def pair_ratios(results, size, kinds, key):
    """splitvm-net / peer for each repetition: its two runs were back to
    back, so they share the machine's state more than any other two."""
    ra = {r["rep"]: r for r in results.get((size, kinds[0][0]), [])}
    rb = {r["rep"]: r for r in results.get((size, kinds[1][0]), [])}
    return [ra[i][key] / rb[i][key] for i in sorted(set(ra) & set(rb))
            if ra[i][key] and rb[i][key]]


def print_throughput(title, results, kinds, sizes, max_wait, target):
    print(f"\n#### {title}\n")
    print("| size | forwarder | Mpps | Gbit/s | cycles/packet | "
          "CPU cycles per packet delivered | CPU | waited | "
          "runs (left out) |")
    print("| ---- | --------- | ---- | ------ | ------------- | "
          "------------------------------- | --- | ------ | "
          "--------------- |")
    for size in sizes:
        sets = chosen(results, size, kinds, max_wait)
        for (kind, label), ok in zip(kinds, sets[:2]):
            rs = results.get((size, kind), [])
            cell = f"{len(rs)} ({len(rs) - len(ok)})" if not sets[2] else \
                f"{len(rs)} (none: shown all)"
            print(f"| {size} B | {label} | {fmt([r['mpps'] for r in ok], '.2f')}"
                  f" | {fmt([r['gbps'] for r in ok], '.2f')} | "
                  f"{fmt([r['cpp'] for r in ok], '.0f')} | "
                  f"{fmt([r['cpu_cpp'] for r in ok], '.0f')} | "
                  f"{fmt([r['cpu'] for r in ok], '.2f')} | "
                  f"{fmt([r['wait'] for r in ok], '.2f')} | {cell} |")
    print()
    blabel = kinds[1][1]
    mt, ct = target or (None, None)
    for size in sizes:
        ra, rb, everything = chosen(results, size, kinds, max_wait)
        ma, mb = med([r["mpps"] for r in ra]), med([r["mpps"] for r in rb])
        ca, cb = med([r["cpp"] for r in ra]), med([r["cpp"] for r in rb])
        mr = ma / mb if ma is not None and mb else None
        cr = ca / cb if ca is not None and cb else None
        if target is None:
            verdict = None
        elif mr is None or cr is None:
            verdict = "not decided"
        elif everything:
            verdict = ("not decided: no run of one side was under "
                       "--max-wait")
        else:
            verdict = "met" if mr >= mt and cr <= ct else "NOT met"
        line = f"- {size} B: splitvm-net / {blabel}: "
        line += f"Mpps x{mr:.2f}" if mr is not None else "Mpps n/a"
        line += f", cycles/packet x{cr:.2f}" if cr is not None else \
            ", cycles/packet n/a"
        pm = pair_ratios(results, size, kinds, "mpps")
        pc = pair_ratios(results, size, kinds, "cpp")
        if pm and pc:
            line += (f"; per back-to-back pair (all runs): Mpps x"
                     f"{fmt(pm, '.2f')}, cycles/packet x{fmt(pc, '.2f')}")
        if verdict is None:
            print(line)
        else:
            print(f"{line} (target: Mpps >= x{mt:.2f}, cycles/packet <= "
                  f"x{ct:.2f}: {verdict})")


def print_idle(results, kinds):
    print("\n#### Idle: CPU with connected, silent ports; round trip after "
          "silence\n")
    gaps = [1] + GAPS_US
    head = ["back to back" if g == 1 else f"after {g / 1000:g} ms"
            for g in gaps]
    print("| forwarder | CPU used | waited for a CPU | " + " | ".join(
        f"RTT {h}, median µs" for h in head) + " |")
    print("| --------- | -------- | ---------------- | " +
          " | ".join("---" for _ in head) + " |")
    for kind, label in kinds:
        rs = results.get(kind, [])
        cells = []
        for g in gaps:
            vals = [r["lat"].get(g) for r in rs if r["lat"].get(g)]
            cells.append(fmt([v["p50"] for v in vals], ".1f"))
        print(f"| {label} | {fmt([r['cpu'] for r in rs], '.3f')} | "
              f"{fmt([r['wait'] for r in rs], '.2f')} | "
              + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Needs dpdk-testpmd; the switch and idle comparisons need "
        "OVS-DPDK (apt-get install openvswitch-switch-dpdk) and root. "
        "See docs/benchmarks.md.")
    ap.add_argument("--splitvm-net", required=True,
                    help="the splitvm-net binary")
    ap.add_argument("--baseline", metavar="SPLITVM_NET",
                    help="another splitvm-net build: the cross-connect is "
                    "compared against it instead of testpmd (an A/B of two "
                    "builds, e.g. to find a regression); xconnect only")
    ap.add_argument("--drive", help="splitvm-drive (default: next to "
                    "splitvm-net in the build tree)")
    ap.add_argument("--testpmd", default=shutil.which("dpdk-testpmd"),
                    help="dpdk-testpmd (default: from PATH)")
    ap.add_argument("--ovs-vswitchd", default=bp.OVS_VSWITCHD,
                    help=f"OVS-DPDK's ovs-vswitchd (default "
                    f"{bp.OVS_VSWITCHD})")
    ap.add_argument("--ovs-flows", choices=["normal", "inport"],
                    default="normal", help="OVS bridge: its NORMAL action "
                    "(L2 learning, default) or in_port flows")
    ap.add_argument("--compare", default="xconnect,switch,idle",
                    help="any of xconnect,switch,idle,vlan")
    ap.add_argument("--ring", choices=["split", "packed"], default="split",
                    help="the virtqueue layout the traffic process's "
                    "virtio-user ports ask for (default split)")
    ap.add_argument("--sizes", default="64,1518",
                    help="frame sizes, testpmd --txpkts (default 64,1518)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each forwarder per size (default 3)")
    ap.add_argument("--seconds", type=float, default=5,
                    help="measuring window of a run (default 5)")
    ap.add_argument("--warmup", type=float, default=2,
                    help="seconds of traffic before the window (default 2)")
    ap.add_argument("--idle-seconds", type=float, default=5,
                    help="window of the idle CPU measurement (default 5)")
    ap.add_argument("--max-wait", type=float, default=0.10,
                    help="leave out runs whose forwarder waited for a CPU "
                    "more than this share of the window (default 0.10)")
    ap.add_argument("--nice", type=int, default=0,
                    help="niceness of the forwarders, the traffic and the "
                    "probes (e.g. -10 as root on a shared machine; default "
                    "0)")
    args = ap.parse_args()
    bp.NICE = args.nice
    compare = set(args.compare.split(","))
    if compare - {"xconnect", "switch", "idle", "vlan"}:
        sys.exit("bench-switch: --compare takes xconnect, switch, idle, "
                 "vlan")
    if args.baseline and compare != {"xconnect"}:
        sys.exit("bench-switch: --baseline compares cross-connects only: "
                 "add --compare xconnect")
    if args.baseline and not os.access(args.baseline, os.X_OK):
        sys.exit(f"bench-switch: --baseline {args.baseline} is not an "
                 "executable")
    if not args.testpmd:
        sys.exit("bench-switch: dpdk-testpmd is not installed "
                 "(package dpdk-dev)")
    if not args.drive:
        args.drive = os.path.join(os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.abspath(args.splitvm_net)))),
            "tools", "drive", "splitvm-drive")
    if "idle" in compare and not os.access(args.drive, os.X_OK):
        sys.exit(f"bench-switch: no splitvm-drive at {args.drive} "
                 "(--drive PATH)")
    if compare & {"switch", "idle"}:
        missing = bp.ovs_missing(args.ovs_vswitchd)
        if missing:
            sys.exit(f"bench-switch: OVS-DPDK is not installed ({missing} "
                     "is missing). Install it for the benchmark only:\n"
                     "    apt-get install openvswitch-switch-dpdk\n"
                     "or leave OVS out: --compare xconnect")
        if os.geteuid() != 0:
            sys.exit("bench-switch: OVS-DPDK needs root (it creates tap "
                     "interfaces); run as root or --compare xconnect")
    sizes = [int(s) for s in args.sizes.split(",")]
    load0 = os.getloadavg()
    print(f"bench-switch: {host_line(args)}", flush=True)
    print(f"load average at start: {load0[0]:.2f} {load0[1]:.2f} "
          f"{load0[2]:.2f}; niceness {args.nice}", flush=True)
    xc = [("splitvm-net-xc", "splitvm-net xconnect"),
          ("testpmd", "testpmd io")]
    if args.baseline:
        xc[1] = ("baseline-xc", "baseline xconnect")
    sw = [("splitvm-net-sw", "splitvm-net switch"),
          ("ovs", f"OVS-DPDK ({args.ovs_flows})")]
    idle = [("splitvm-net-sw", "splitvm-net (adaptive)"),
            ("testpmd", "testpmd io"), ("ovs", "OVS-DPDK")]
    vlan = [("splitvm-net-trunk", "splitvm-net access+trunk"),
            ("splitvm-net-sw", "splitvm-net VLAN-unaware")]
    res_xc, res_sw, res_idle, res_vlan = {}, {}, {}, {}
    n = 0
    with tempfile.TemporaryDirectory(prefix="bench-switch-") as tmp:
        os.chmod(tmp, 0o777)
        for name, kinds, traffic, res in [("xconnect", xc, "flowgen", res_xc),
                                          ("switch", sw, "loop", res_sw),
                                          ("vlan", vlan, "loop", res_vlan)]:
            if name not in compare:
                continue
            for size in sizes:
                for rep in range(args.repeat):
                    order = kinds if rep % 2 == 0 else kinds[::-1]
                    for kind, label in order:
                        n += 1
                        try:
                            r = run_traffic(args, kind, traffic, size, tmp,
                                            n)
                        except RuntimeError as e:
                            print(f"run {n}: {name} {size:5d} B {label:22s} "
                                  f"FAILED, left out: {e}", flush=True)
                            continue
                        r["rep"] = rep
                        res.setdefault((size, kind), []).append(r)
                        flag = " (waited: left out)" \
                            if r["wait"] > args.max_wait else ""
                        cpp = f"{r['cpp']:.0f}" if r["cpp"] else "n/a"
                        print(f"run {n}: {name} {size:5d} B {label:22s} "
                              f"{r['mpps']:.2f} Mpps {r['gbps']:.2f} Gbit/s "
                              f"cycles/pkt {cpp} cpu {r['cpu']:.2f} "
                              f"cpu-cycles/delivered "
                              f"{r['cpu_cpp'] or 0:.0f} "
                              f"waited {r['wait']:.2f}{flag}", flush=True)
        if "idle" in compare:
            for rep in range(args.repeat):
                order = idle if rep % 2 == 0 else idle[::-1]
                for kind, label in order:
                    n += 1
                    try:
                        r = run_idle(args, kind, tmp, n)
                    except RuntimeError as e:
                        print(f"run {n}: idle {label:22s} FAILED, left out: "
                              f"{e}", flush=True)
                        continue
                    res_idle.setdefault(kind, []).append(r)
                    lat = ", ".join(
                        f"{g}us {v['p50']:.1f}" if v else f"{g}us n/a"
                        for g, v in r["lat"].items())
                    print(f"run {n}: idle {label:22s} cpu {r['cpu']:.3f} "
                          f"waited {r['wait']:.2f} rtt p50 {lat}", flush=True)
    load1 = os.getloadavg()
    print(f"\n### Result ({host_line(args)})\n")
    print(f"Load average at start {load0[0]:.2f}, at end {load1[0]:.2f} "
          f"(1 min); niceness {args.nice}; {args.repeat} runs of each, "
          f"{args.seconds:g} s after "
          f"{args.warmup:g} s of warm-up. Median [min-max] of the runs in "
          f"which the forwarder waited for a CPU at most "
          f"{args.max_wait:.0%} of the window.")
    if res_xc and args.baseline:
        print(f"\nBaseline: {os.path.abspath(args.baseline)}")
        print_throughput("splitvm-net cross-connect vs a baseline build",
                         res_xc, xc, sizes, args.max_wait, None)
    elif res_xc:
        print_throughput("splitvm-net cross-connect vs testpmd io", res_xc,
                         xc, sizes, args.max_wait, (0.95, 1.00))
    if res_sw:
        print_throughput(f"splitvm-net switch vs OVS-DPDK ({args.ovs_flows})",
                         res_sw, sw, sizes, args.max_wait, (1.00, 0.67))
    if res_vlan:
        # What a tag pushed or popped in place costs (no peer: a target of
        # at most 15% more cycles per packet than without VLANs).
        print_throughput("splitvm-net switch, access port to trunk vs "
                         "VLAN-unaware", res_vlan, vlan, sizes,
                         args.max_wait, (0.85, 1.15))
    if res_idle:
        print_idle(res_idle, idle)


if __name__ == "__main__":
    main()

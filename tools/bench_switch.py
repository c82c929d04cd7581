#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Forwarding cost: splitvm-net cross-connect against dpdk-testpmd io
forwarding between two net_vhost ports (the same librte_vhost underneath).

One traffic process, a dpdk-testpmd with two virtio-user ports in flowgen
mode (source and sink of both directions), runs on CPU 1 (main and
forwarding lcore). The device under test runs on CPU 0:

  splitvm-net   --mode xconnect --busy-poll --cpu 0 (as uid 65534 when
                started as root); cycles/packet from its own counters
                (TSC cycles of rounds that moved frames / frames received)
  testpmd       two net_vhost ports, --forward-mode=io, --lcores 0@0,1@0,
                --record-core-cycles; cycles/packet from its summary

Runs alternate (A B B A ...) for each frame size. Per run: Mpps and Gbit/s
received by the traffic process (median of its per-second rates after a
warm-up), cycles/packet of the device under test, and the CPU it used
(/proc utime+stime over the run). Medians and ranges are printed side by
side with the ratio. A benchmark program, not a test.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

NOBODY = 65534


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def drop_to_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def wait_for(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def eal(prefix, lcores):
    args = ["--lcores", lcores, "--no-huge", "-m", "1024", "--no-pci",
            f"--file-prefix={prefix}"]
    if os.geteuid() != 0:
        args += ["--no-shconf", "--iova-mode=va"]
    return args


def cleanup_runtime(prefix):
    for base in ["/var/run/dpdk", "/tmp/dpdk"]:
        shutil.rmtree(os.path.join(base, prefix), ignore_errors=True)


def stop(proc, sig=signal.SIGINT, timeout=30):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Dut:
    def __init__(self, kind, args, tmp, n):
        self.kind, self.tmp = kind, tmp
        self.socks = [os.path.join(tmp, f"{kind}{n}-{i}.sock") for i in (0, 1)]
        self.prefix = f"bench-switch-dut-{os.getpid()}-{n}"
        self.out = open(os.path.join(tmp, f"{kind}{n}.log"), "w+")
        if kind == "splitvm-net":
            argv = [args.splitvm_net, "--mode", "xconnect", "--busy-poll",
                    "--cpu", "0", "--stats-format", "json",
                    "--port", self.socks[0], "--port", self.socks[1]]
            pre = drop_to_nobody if os.geteuid() == 0 else None
            self.proc = subprocess.Popen(argv, stdout=self.out,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL,
                                         preexec_fn=pre)
        else:
            argv = [args.testpmd] + eal(self.prefix, "0@0,1@0") + [
                "--vdev", f"net_vhost0,iface={self.socks[0]},queues=1",
                "--vdev", f"net_vhost1,iface={self.socks[1]},queues=1",
                "--", "--forward-mode=io", "--auto-start",
                "--record-core-cycles", "--total-num-mbufs=16384",
                "--no-mlockall", "--stats-period=1"]
            self.proc = subprocess.Popen(argv, stdout=self.out,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)

    def ready(self):
        return all(os.path.exists(s) for s in self.socks)

    def finish(self):
        """Stop; returns cycles per packet from the DUT's own counters."""
        if self.kind == "splitvm-net":
            stop(self.proc, signal.SIGTERM)
            self.out.seek(0)
            last = [ln for ln in self.out.read().splitlines()
                    if ln.startswith("{")]
            if not last:
                return None
            fwd = json.loads(last[-1])["fwd"]
            return fwd["busy_cycles"] / fwd["frames"] if fwd["frames"] else None
        stop(self.proc, signal.SIGINT)
        cleanup_runtime(self.prefix)
        self.out.seek(0)
        m = re.findall(r"CPU cycles/packet=([\d.]+)", self.out.read())
        return float(m[-1]) if m else None


def run_once(args, kind, size, tmp, n):
    dut = Dut(kind, args, tmp, n)
    drv = None
    prefix = f"bench-switch-drv-{os.getpid()}-{n}"
    try:
        if not wait_for(dut.ready, 30):
            raise RuntimeError(f"{kind} did not create its sockets")
        for s in dut.socks:
            os.chmod(s, 0o777)
        log = open(os.path.join(tmp, f"drv{n}.log"), "w+")
        argv = [shutil.which("stdbuf") or "stdbuf", "-oL", args.testpmd] + \
            eal(prefix, "0@1,1@1") + [
            "--vdev", f"net_virtio_user0,path={dut.socks[0]},"
                      "mac=02:00:00:00:00:01",
            "--vdev", f"net_virtio_user1,path={dut.socks[1]},"
                      "mac=02:00:00:00:00:02",
            "--", "--forward-mode=flowgen", f"--txpkts={size}",
            "--auto-start", "--total-num-mbufs=16384", "--no-mlockall",
            "--stats-period=1", "--nb-cores=1"]
        drv = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
        time.sleep(args.warmup)
        c0, t0 = cpu_seconds(dut.proc.pid), time.monotonic()
        time.sleep(args.seconds)
        c1, t1 = cpu_seconds(dut.proc.pid), time.monotonic()
        stop(drv)
        cleanup_runtime(prefix)
        log.seek(0)
        text = log.read()
        log.close()
        # Per-second blocks: Rx-pps of port 0 and port 1, in order.
        rates = [int(x) for x in re.findall(r"Rx-pps:\s+(\d+)", text)]
        pairs = [rates[i] + rates[i + 1] for i in range(0, len(rates) - 1, 2)]
        skip = int(args.warmup)
        window = pairs[skip:skip + int(args.seconds)] or pairs
        pps = statistics.median(window) if window else 0
        cpp = dut.finish()
        return {"mpps": pps / 1e6,
                "gbps": pps * (size + 20) * 8 / 1e9,   # + preamble, IFG
                "cpp": cpp, "cpu": (c1 - c0) / (t1 - t0)}
    finally:
        if drv:
            stop(drv)
        if dut.proc.poll() is None:
            stop(dut.proc, signal.SIGTERM)
        cleanup_runtime(dut.prefix)
        cleanup_runtime(prefix)


def fmt(vals, spec):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a"
    return (f"{statistics.median(vals):{spec}} "
            f"[{min(vals):{spec}}-{max(vals):{spec}}]")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--splitvm-net", required=True)
    ap.add_argument("--testpmd", default=shutil.which("dpdk-testpmd"))
    ap.add_argument("--sizes", default="64,1518")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=2)
    args = ap.parse_args()
    if not args.testpmd:
        sys.exit("bench-switch: dpdk-testpmd is not installed (package dpdk-dev)")
    kinds = ["splitvm-net", "testpmd"]
    results = {}
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)
        for size in [int(s) for s in args.sizes.split(",")]:
            for rep in range(args.repeat):
                order = kinds if rep % 2 == 0 else kinds[::-1]
                for kind in order:
                    n += 1
                    r = run_once(args, kind, size, tmp, n)
                    results.setdefault((size, kind), []).append(r)
                    print(f"run {n}: {size:5d} B {kind:12s} "
                          f"{r['mpps']:.2f} Mpps {r['gbps']:.2f} Gbit/s "
                          f"cycles/pkt {r['cpp'] or 0:.0f} cpu {r['cpu']:.2f}",
                          flush=True)
    print()
    print(f"{'size':>5} {'forwarder':12s} {'Mpps':>18} {'Gbit/s':>18} "
          f"{'cycles/packet':>18} {'CPU':>16}")
    for (size, kind), rs in sorted(results.items()):
        print(f"{size:5d} {kind:12s} {fmt([r['mpps'] for r in rs], '.2f'):>18} "
              f"{fmt([r['gbps'] for r in rs], '.2f'):>18} "
              f"{fmt([r['cpp'] for r in rs], '.0f'):>18} "
              f"{fmt([r['cpu'] for r in rs], '.2f'):>16}")
    for size in sorted({s for s, _ in results}):
        a, b = results[(size, "splitvm-net")], results[(size, "testpmd")]
        ma = statistics.median([r["mpps"] for r in a])
        mb = statistics.median([r["mpps"] for r in b])
        ca = [r["cpp"] for r in a if r["cpp"]]
        cb = [r["cpp"] for r in b if r["cpp"]]
        line = f"{size} B: splitvm-net / testpmd: Mpps x{ma / mb:.2f}" \
            if mb else f"{size} B: testpmd moved nothing"
        if ca and cb:
            line += (f", cycles/packet x"
                     f"{statistics.median(ca) / statistics.median(cb):.2f}")
        print(line)


if __name__ == "__main__":
    main()

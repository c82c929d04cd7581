#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Control API cost: request latency, and what API load does to a guest.

Boots the test guest with guest.exit=beat (steady port I/O exits) and
--api-socket, then in alternating rounds:

Every round lasts --seconds:
  keep-alive   GET /api/v1/vm.info on one HTTP/1.1 connection, back to back
  connect      a new unix connection per request (as curl does)
  metrics      GET /metrics on one connection

and between them an idle round that only samples the guest's exit rate.
Per round: median and 99th percentile latency in microseconds, and the
guest's vCPU exits per second during the round (from vm.counters before
and after), so the effect of API load on the guest shows side by side
with the idle rate.  A benchmark, not a test: numbers only.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def get(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise RuntimeError(f"{path}: HTTP {r.status}")
    return body


def exits(sock):
    c = UnixHTTPConnection(sock)
    d = json.loads(get(c, "/api/v1/vm.counters"))
    c.close()
    return sum(v["exits_total"] for v in d["vcpus"])


def timed_round(sock, kind, seconds):
    lat = []
    conn = UnixHTTPConnection(sock) if kind != "connect" else None
    path = "/metrics" if kind == "metrics" else "/api/v1/vm.info"
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter_ns()
        if kind == "connect":
            c = UnixHTTPConnection(sock)
            get(c, path)
            c.close()
        else:
            get(conn, path)
        lat.append((time.perf_counter_ns() - t0) / 1000)
    if conn:
        conn.close()
    return lat


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--splitvm", required=True)
    ap.add_argument("--guest", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0,
                    help="length of every round")
    args = ap.parse_args()
    if not os.path.exists(args.guest):
        sys.exit(f"{args.guest} is missing: run ninja -C build first")

    tmp = tempfile.mkdtemp(prefix="splitvm-bench-api-")
    sock = os.path.join(tmp, "api.sock")
    proc = subprocess.Popen(
        [args.splitvm, "--kernel", args.guest, "--cpus", "1", "--memory",
         "128M", "--cmdline", "guest.ticks=1 guest.exit=beat",
         "--api-socket", sock],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)           # past boot, into the beat loop
        results = {k: {"p50": [], "p99": [], "rate": []}
                   for k in ("idle", "keep-alive", "connect", "metrics")}
        for r in range(args.rounds):
            order = ["keep-alive", "connect", "metrics"]
            if r % 2:
                order.reverse()
            for kind in ["idle"] + order:
                e0, t0 = exits(sock), time.monotonic()
                if kind == "idle":
                    time.sleep(args.seconds)
                else:
                    lat = timed_round(sock, kind, args.seconds)
                    lat.sort()
                    results[kind]["p50"].append(statistics.median(lat))
                    results[kind]["p99"].append(lat[int(len(lat) * 0.99) - 1])
                e1, t1 = exits(sock), time.monotonic()
                results[kind]["rate"].append((e1 - e0) / (t1 - t0))
        print(f"{'round kind':12} {'p50 us':>18} {'p99 us':>18} "
              f"{'guest exits/s':>24}   (median [min-max] of {args.rounds})")
        for kind, v in results.items():
            def fmt(xs):
                if not xs:
                    return "-"
                return f"{statistics.median(xs):.0f} [{min(xs):.0f}-{max(xs):.0f}]"
            print(f"{kind:12} {fmt(v['p50']):>18} {fmt(v['p99']):>18} "
                  f"{fmt(v['rate']):>24}")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()

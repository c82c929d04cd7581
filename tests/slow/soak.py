#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Soak: several VMs on one splitvm-net switch, each with a disk, for
minutes; no process grows, nothing fails, nothing is left behind.

Usage: soak.py SPLITVM GUEST [SECONDS]   (default 180 s of soak)

Three long-lived VMs (each --disk path= on its own image, --net switch=
on one switch of this test's own name, --api-socket) run the test
guest's block write/read/verify loop for the whole soak.  Meanwhile the
test keeps the switch busy with churn: one pair of short-lived VMs after
another joins the switch, exchanges frames (guest.net_peer=1: broadcast
until each heard the other, then to the other's address) and leaves, so
the switch maps and unmaps their memory, adds and removes ports and
forwards their frames, flooding the broadcasts to the long-lived VMs'
ports too.  The test guest drives one device at a time,
so the long-lived guests never start their network device: their ports
stay joined, the frames flooded to them are dropped.  The test polls
each long-lived VM's control API (vm.info, vm.devices, vm.counters,
/metrics) all the while.

For the 10 long-lived processes (3 cores, their 3 supervisors, their 3
splitvm-blk, the shared splitvm-net; pids from vm.devices and /proc) it
samples VmRSS, VmSize, open fds, threads and mappings of guest memory
(memfd) after a warm-up and at the end, each time between two pairs
once the switch has dropped the last pair's ports, and asserts:
- fds, threads and memfd mappings: exactly as after the warm-up;
- VmRSS: at most RSS_SLACK_KIB more (see there why);
- every long-lived guest PASSes, its loop ran to the end with every
  round verified and no device reset;
- every pair exchanged frames (each received every one of the other's,
  none twice) and PASSed;
- no "error:" line from any splitvm process, no back-end restart (pids
  unchanged, restarts 0 in vm.devices), every API request answered;
- at the end (vm.shutdown): every process, API socket, port socket and
  runtime directory is gone.
The samples are printed as a table.  Nothing is timed: the waits are
generous for a loaded 2-core machine.
"""

import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import blkguest  # noqa: E402
import ctlapi  # noqa: E402
import netpeer  # noqa: E402
import svmtest  # noqa: E402
from svmtest import (proc_children, proc_gone, proc_status, stop,  # noqa: E402
                     wait_until)

splitvm, guest = (os.path.abspath(p) for p in sys.argv[1:3])
SOAK_S = int(sys.argv[3]) if len(sys.argv) > 3 else 180
c = svmtest.Checker("soak")
svmtest.require_kvm()
if os.geteuid() != 0:
    svmtest.skip("needs root: splitvm switches the back-ends to another user")
if SOAK_S < 10:
    print("usage: soak.py SPLITVM GUEST [SECONDS >= 10]")
    sys.exit(2)

LONG = 3
FRAMES = 4000
# VmRSS a long-lived process may gain between warm-up and end.  What they
# legitimately keep: glibc's arenas keep freed chunks resident (the core
# never lets glibc trim a thread heap under its seccomp filter), DPDK's
# heap and per-lcore mempool caches touch pages once and keep them, and
# the pages of guest memory a back-end touches (the guests reuse the same
# buffers, so those saturate during the warm-up).  None of that grows with
# the number of pairs; a leak per pair (a guest mapping, a connection's
# state) does, and fds and memfd mappings are checked exactly.
RSS_SLACK_KIB = 4096
POLL_EVERY_S = 2.0
LOOP_MARGIN_S = 60
WARMUP_PAIRS = 2
# Pairs after the warm-up at the least, however short the soak.
MIN_PAIRS = WARMUP_PAIRS + 2

tmp = tempfile.mkdtemp(prefix="splitvm-soak-")
os.chown(tmp, 65534, 65534)     # the cores remove their API socket as nobody
switch = f"soak{os.getpid()}"
procs = []
vm_pids = []                    # every core started, for the leftovers check


def text(path):
    with open(path, errors="replace") as f:
        return f.read()


def start_vm(name, args, cmdline):
    out = os.path.join(tmp, f"{name}.out")
    err = os.path.join(tmp, f"{name}.err")
    with open(out, "wb") as fo, open(err, "wb") as fe:
        p = subprocess.Popen([splitvm, "--kernel", guest] + args +
                             ["--cmdline", cmdline],
                             stdin=subprocess.DEVNULL, stdout=fo, stderr=fe)
    procs.append(p)
    vm_pids.append(p.pid)
    return {"name": name, "proc": p, "out": out, "err": err}


def dump(vm, lines=15):
    for line in text(vm["out"]).splitlines()[-lines:]:
        print(f"    {vm['name']} | {line}")
    for line in text(vm["err"]).splitlines()[-lines:]:
        print(f"    {vm['name']} ! {line}")


def api(vm, path, method="GET"):
    """(status, body) of one request on a fresh connection."""
    try:
        raw = ctlapi.raw_request(vm["sock"], (
            f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n").encode(), timeout=30)
    except OSError as e:
        return None, str(e)
    status, _, body = ctlapi.parse_response(raw)
    return status, body


def devices(vm):
    status, body = api(vm, "/api/v1/vm.devices")
    try:
        return {x["id"]: x for x in json.loads(body)["devices"]} \
            if status == 200 else {}
    except (ValueError, KeyError, TypeError):
        return {}


class Poller:
    """Every POLL_EVERY_S: each long-lived VM's API, and its devices as
    at the start (same back-end pids, no restart, connected)."""

    def __init__(self, vms, want):
        self.vms, self.want = vms, want
        self.requests = 0
        self.bad = []
        self.last = 0.0

    def __call__(self):
        if time.monotonic() - self.last < POLL_EVERY_S:
            return
        self.last = time.monotonic()
        for vm in self.vms:
            for path in ("/api/v1/vm.info", "/api/v1/vm.counters", "/metrics"):
                status, body = api(vm, path)
                self.requests += 1
                if status != 200 or (path.endswith("info") and
                                     '"running"' not in body):
                    self.bad.append(f"{vm['name']} {path}: {status} "
                                    f"{body[:120]!r}")
            self.requests += 1
            now = device_state(devices(vm))
            if now != self.want[vm["name"]]:
                self.bad.append(f"{vm['name']} vm.devices: {now}, at the "
                                f"start {self.want[vm['name']]}")


def device_state(devs):
    """What must not change: per device its connection, reconnects and
    back-end process (pid, state, restarts)."""
    return {k: (d.get("backend_state"), d.get("restarts"),
                (d.get("backend") or {}).get("pid"),
                (d.get("backend") or {}).get("state"),
                (d.get("backend") or {}).get("restarts"))
            for k, d in sorted(devs.items())}


def sample(pid):
    f = proc_status(pid)
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        with open(f"/proc/{pid}/maps") as m:
            memfd = sum(1 for line in m if "/memfd:" in line)
    except OSError:
        fds = memfd = None
    kib = (lambda k: int(f[k].split()[0]) if k in f else None)
    return {"rss": kib("VmRSS"), "size": kib("VmSize"), "fds": fds,
            "threads": int(f["Threads"]) if "Threads" in f else None,
            "memfd": memfd}


def switch_ports():
    return sorted(os.path.basename(p) for p in
                  glob.glob(f"/run/splitvm/u*/net-{switch}/vm*.sock"))


def settled_sample(watch, long_ports, poll, ref=None):
    """Sample every watched process once the switch has only the
    long-lived VMs' ports and what is counted exactly (fds, threads,
    memfd mappings) has settled: a leaving port's clean-up is
    asynchronous.  Settled: as in ref, or else as a second earlier; at
    most 15 s of waiting for it (a leak never comes back)."""
    wait_until(lambda: switch_ports() == long_ports, 60, idle=poll)
    exact = ("fds", "threads", "memfd")

    def take():
        return {n: sample(p) for n, p in watch.items()}
    s = take()

    def settled():
        nonlocal s
        prev = ref or s
        time.sleep(1)
        s = take()
        return all(s[n][k] == prev[n][k] for n in watch for k in exact)
    wait_until(settled, 15, step=0, idle=poll)
    return s


def pair_stats(out):
    """(sent, received, lost, dup) of a pair guest's peer exchange."""
    r = netpeer.report(out.splitlines())
    return (r["sent"], r["received"], r["lost"], r["dup"]) if r else None


def run_pair(i, poll):
    """Two short-lived VMs that exchange frames on the switch; a string
    saying what went wrong, or None."""
    common = ["--memory", "64M"]
    t = time.monotonic()
    # Each probes until it hears the other (guest.net_peer=1), then sends
    # its FRAMES: the order they boot in does not matter.
    a, b = (start_vm(f"p{i}{x}", common + [
        "--net", f"switch={switch},mac=52:54:00:5b:{i % 256:02x}:0{x}"],
        f"guest.ticks=1 guest.net={FRAMES} guest.net_peer=1")
        for x in ("a", "b"))
    wait_until(lambda: a["proc"].poll() is not None and
               b["proc"].poll() is not None, 240, idle=poll)
    why = []
    stats = []
    for vm in (a, b):
        p = vm["proc"]
        if p.poll() is None:
            p.kill()
            p.wait()
            why.append(f"{vm['name']} did not end")
        out, err = text(vm["out"]), text(vm["err"])
        st = pair_stats(out)
        stats.append(st)
        if p.returncode != 0 or "guest: result=PASS" not in out:
            why.append(f"{vm['name']}: exit {p.returncode}, "
                       f"{re.findall(r'result=.*', out)}")
        if not st or st[1] != FRAMES or st[2] or st[3]:
            why.append(f"{vm['name']}: not every frame of its peer, or "
                       f"some twice ({st})")
        errs = [ln for ln in err.splitlines() if ": error:" in ln]
        if errs:
            why.append(f"{vm['name']}: {errs[:3]}")
    print(f"  pair {i} ({time.monotonic() - t:.0f} s): sent/received/"
          f"lost/dup {stats[0]} {stats[1]}"
          + (f"; {'; '.join(why)}" if why else ""), flush=True)
    if why:
        dump(a)
        dump(b)
    for vm in (a, b):
        procs.remove(vm["proc"])
    return "; ".join(why) or None


def print_table(watch, samples):
    names = list(samples)
    print(f"  {'process':<18}{'pid':>8}" + "".join(
        f"{'RSS KiB ' + n:>18}{'fds':>5}{'thr':>5}{'memfd':>6}"
        for n in names) + f"{'dRSS KiB':>10}{'VmSize KiB':>12}")
    for pname, pid in watch.items():
        row = f"  {pname:<18}{pid:>8}"
        for n in names:
            s = samples[n][pname]
            row += (f"{s['rss']!s:>18}{s['fds']!s:>5}{s['threads']!s:>5}"
                    f"{s['memfd']!s:>6}")
        first, last = samples[names[0]][pname], samples[names[-1]][pname]
        d = (last["rss"] - first["rss"]
             if None not in (last["rss"], first["rss"]) else None)
        row += f"{d!s:>10}{last['size']!s:>12}"
        print(row)


def start_long_vms(loop_ms):
    """The three long-lived VMs, once their guests run the disk loop;
    None if they do not get there."""
    vms = []
    for i in range(LONG):
        img = os.path.join(tmp, f"disk{i}.img")
        with open(img, "wb") as f:
            f.truncate(64 << 20)
        os.chmod(img, 0o600)    # root's: the back-ends get an fd, no path
        sock = os.path.join(tmp, f"vm{i}.api")
        vm = start_vm(f"vm{i}", [
            "--memory", "128M", "--disk", f"path={img}",
            "--net", f"switch={switch},mac=52:54:00:5a:00:0{i}",
            "--api-socket", sock],
            f"guest.ticks=1 guest.blk=1 guest.blk_seed={i + 1} "
            f"guest.blk_loop_ms={loop_ms} guest.blk_loop_timeout_ms=30000 "
            "guest.exit=beat")
        vm.update(sock=sock, image=img, seed=i + 1)
        vms.append(vm)
    for vm in vms:
        if not c.check(ctlapi.wait_for_socket(vm["sock"], vm["proc"], 120),
                       f"{vm['name']} runs, its API answers"):
            dump(vm)
            return None
    if not c.check(wait_until(lambda: all("guest: blk loop started" in
                                          text(vm["out"]) for vm in vms),
                              180),
                   "every long-lived guest passed its disk test and runs "
                   "its write/read/verify loop"):
        for vm in vms:
            dump(vm)
        return None
    return vms


def find_processes(vms):
    """{name: pid} of the 10 long-lived processes, and each VM's devices
    as vm.devices shows them at the start."""
    watch = {}
    devs = [devices(vm) for vm in vms]
    for vm, d in zip(vms, devs):
        sup = proc_children(vm["proc"].pid)
        watch[f"core {vm['name']}"] = vm["proc"].pid
        watch[f"superv {vm['name']}"] = sup[0] if len(sup) == 1 else 0
        watch[f"splitvm-blk {vm['name']}"] = \
            ((d.get("blk0") or {}).get("backend") or {}).get("pid", 0)
    nets = {((d.get("net0") or {}).get("backend") or {}).get("pid", 0)
            for d in devs}
    watch["splitvm-net"] = nets.pop() if len(nets) == 1 else 0
    c.check(all(watch.values()),
            "found every long-lived process: 3 cores, 3 supervisors, "
            "3 splitvm-blk, one shared splitvm-net", str(watch))
    want = {vm["name"]: device_state(d) for vm, d in zip(vms, devs)}
    ok_state = all(v[0] == "connected" and v[1] == 0 and v[3] == "running"
                   and v[4] == 0 for st in want.values() for v in st.values())
    c.check(ok_state and all(len(st) == 2 for st in want.values()),
            "vm.devices: blk0 and net0 connected, back-ends running, "
            "no restart", str(want))
    return watch, want


def loops_ended(vms):
    return [vm["name"] for vm in vms
            if re.search(r"blk \S+ loop (rounds|stopped)", text(vm["out"]))]


def churn(vms, watch, poll, t0):
    """Pairs until the soak is over, the samples taken between them."""
    long_ports = sorted(f"vm{vm['proc'].pid}-net0.sock" for vm in vms)
    pairs, failed = 0, []
    samples = {}
    while pairs < MIN_PAIRS or time.monotonic() - t0 < SOAK_S:
        r = run_pair(pairs, poll)
        if r:
            failed.append(f"pair {pairs}: {r}")
        pairs += 1
        if pairs == WARMUP_PAIRS:
            samples["warm-up"] = settled_sample(watch, long_ports, poll)
        elif pairs > WARMUP_PAIRS and "middle" not in samples and \
                time.monotonic() - t0 >= SOAK_S / 2:
            samples["middle"] = settled_sample(watch, long_ports, poll)
    ended = loops_ended(vms)
    samples["end"] = settled_sample(watch, long_ports, poll,
                                    samples["warm-up"])
    print(f"  {pairs} pairs in {time.monotonic() - t0:.0f} s, "
          f"{poll.requests} API requests" +
          (f"; disk loops that ended while the end sample was taken: "
           f"{loops_ended(vms)}" if loops_ended(vms) else ""))
    print_table(watch, samples)
    c.check(not ended, "every guest's disk loop still ran at the end "
            f"sample, as at the warm-up (it runs {LOOP_MARGIN_S} s longer "
            "than the soak)", f"ended: {ended} (is /proc/cpuinfo's cpu MHz "
            "the TSC rate?)")
    c.check(not failed, f"every one of {pairs} pairs joined the switch, "
            "exchanged frames with its peer and PASSed", "; ".join(failed))
    c.check(poll.requests > 0 and not poll.bad,
            f"{poll.requests} API requests during the soak: all answered, "
            "VMs running, devices connected, no back-end restart",
            "; ".join(poll.bad[:5]))
    return samples


def check_growth(watch, w, e):
    for pname in watch:
        for k in ("fds", "threads", "memfd"):
            c.check(w[pname][k] is not None and e[pname][k] == w[pname][k],
                    f"{pname}: {k} {e[pname][k]} at the end, as after the "
                    "warm-up", f"warm-up {w[pname][k]}")
        c.check(None not in (w[pname]["rss"], e[pname]["rss"]) and
                e[pname]["rss"] - w[pname]["rss"] <= RSS_SLACK_KIB,
                f"{pname}: VmRSS grew by at most {RSS_SLACK_KIB} KiB",
                f"{w[pname]['rss']} -> {e[pname]['rss']} KiB")


def check_guests(vms):
    for vm in vms:
        out = text(vm["out"])
        loop = re.search(r"blk \S+ loop rounds=(\d+) ok resets=(\d+)", out)
        summ = re.search(r"blk \S+ capacity=\d+ .* wrote=(\d+) read=\d+ "
                         r"verified=(\d+)", out)
        c.check(loop and int(loop.group(1)) > 0 and loop.group(2) == "0"
                and summ and summ.group(1) == summ.group(2) and
                "guest: result=PASS" in out,
                f"{vm['name']}: PASS, {loop.group(1) if loop else '?'} "
                "loop rounds of write + read + verify, every one verified, "
                "no device reset", "; ".join(re.findall(
                    r"guest: (?:blk .*(?:loop|FAIL).*|result=.*|warning.*)",
                    out)[:5]))
    for vm in vms:
        errs = [ln for ln in text(vm["err"]).splitlines() if ": error:" in ln]
        c.check(not errs, f"{vm['name']}: no error line from its core, "
                "supervisor or back-ends", "; ".join(errs[:5]))


def check_images(vms):
    """The images as the guests left them: the block test's extents and
    the loop's last round, sector by sector."""
    for vm in vms:
        out = text(vm["out"])
        print(f"  {vm['name']}'s image {os.path.basename(vm['image'])}:")
        blkguest.check_blk_io(c, out, vm["image"], vm["seed"])
        ext = re.search(r"blk \S+ loop extent sector=(\d+) count=(\d+)", out)
        loop = re.search(r"blk \S+ loop rounds=(\d+) ok", out)
        if ext and loop:
            with open(vm["image"], "rb") as f:
                # Round r writes seed seed+2+r; the last is rounds-1.
                bad = blkguest.check_extents(
                    f, [(int(ext.group(1)), int(ext.group(2)))],
                    vm["seed"] + 2 + int(loop.group(1)) - 1)
            c.equal(bad, [], f"{vm['name']}: the image holds the loop's "
                    "last round in every sector of the loop extent")


def shut_down(vms, watch):
    """vm.shutdown; then every process and file of theirs is gone."""
    for vm in vms:
        status, _ = api(vm, "/api/v1/vm.shutdown", "POST")
        c.equal(status, 202, f"{vm['name']}: vm.shutdown accepted")
    for vm in vms:
        try:
            vm["proc"].wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        c.equal(vm["proc"].returncode, 0, f"{vm['name']}: exit 0 on shutdown")
    c.check(wait_until(lambda: all(proc_gone(p) for p in watch.values()), 30),
            "every long-lived process is gone",
            str([n for n, p in watch.items() if not proc_gone(p)]))
    left = [vm["sock"] for vm in vms if os.path.exists(vm["sock"])]
    left += [d for pid in vm_pids
             for d in glob.glob(f"/run/splitvm/u*/vm-{pid}")]
    # The switch's directory stays, by design, with its lock file (it
    # serialises starts and joins) and the parent of DPDK's runtime
    # directories (EAL makes net-<NAME>/dpdk; the switch removes its own
    # dpdk/splitvm-net-<pid> when it ends): the next switch of that name
    # reuses them (docs/architecture.md, "Shared switches").
    kept = ("lock", "dpdk")
    left += [p for p in glob.glob(f"/run/splitvm/u*/net-{switch}/**",
                                  recursive=True)
             if not p.endswith("/") and os.path.basename(p) not in kept]
    c.check(not left, "no API socket, VM runtime directory, port socket or "
            f"DPDK runtime directory left behind ({len(vm_pids)} VMs)",
            str(left[:10]))


def main():
    mhz = tsc_mhz()
    # The guests' loop runs past the soak's end (a pair takes ~10 s here):
    # the end sample is taken with every disk still busy, as the warm-up
    # one was (a loop's end resets the device: splitvm-blk then holds
    # fewer fds and threads).
    loop_ms = int((SOAK_S + LOOP_MARGIN_S) * mhz)
    vms = start_long_vms(loop_ms)
    if not vms:
        return
    t0 = time.monotonic()
    print(f"  soak: {SOAK_S} s; guest loops of {loop_ms} ms of TSC "
          f"(TSC {mhz} MHz)", flush=True)
    watch, want = find_processes(vms)
    if not all(watch.values()):
        return
    poll = Poller(vms, want)
    samples = churn(vms, watch, poll, t0)
    check_growth(watch, samples["warm-up"], samples["end"])

    # The guests' loops end on their own; wait (TSC at 1 GHz: the
    # longest they can take) and check every round verified.
    limit = loop_ms / 1000 - (time.monotonic() - t0) + 180
    wait_until(lambda: all("guest: result=" in text(vm["out"]) for vm in vms),
               max(limit, 180), step=1, idle=poll)
    check_guests(vms)
    poll.last = 0
    poll()
    c.check(not poll.bad, "the API answers after the loops, no restart",
            "; ".join(poll.bad[:5]))
    shut_down(vms, watch)
    check_images(vms)
    if c.failed:
        for vm in vms:
            dump(vm)


def tsc_mhz():
    """The guest's TSC ticks at the host's rate; its loop counts 'ms' of
    a 1 GHz TSC.  The host's "cpu MHz" from /proc/cpuinfo: the TSC rate
    on these (virtual) machines; on a host that scales its clock it may
    be off, and a loop that ends before the end sample is reported."""
    try:
        with open("/proc/cpuinfo") as f:
            mhz = [float(x) for x in re.findall(r"cpu MHz\s*:\s*([\d.]+)",
                                                f.read())]
        return max(1000, int(max(mhz))) if mhz else 1000
    except (OSError, ValueError):
        return 1000


try:
    main()
finally:
    for p in procs:
        stop(p)
    for d in glob.glob(f"/run/splitvm/u*/net-{switch}"):
        subprocess.run(["rm", "-rf", d])
    subprocess.run(["rm", "-rf", tmp])
c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""kill -9 of the shared splitvm-net switch, KILLS times, in the middle of
two guests' traffic through it.

argv: splitvm guest KILLS [RING]

RING (split|packed, default split, as --net switch= defaults to): the
devices' ring layout (--net ring=). With split rings the switch copies the
guests' frames directly from one's buffers into the other's (--copy
direct, the default), writing both used rings itself: the guests send
PEER_LEN-byte frames (guest.net_peer_len), each byte checked, and the
test asserts from the switch's counters that they went that way. A kill
there hits the direct copy, which writes the source's used index before
any destination's: frames are lost, never delivered twice. With packed
rings every frame takes the mbuf path (librte_vhost's dequeue and
enqueue).

Two VMs of the test guest on one switch of this test's own (--net
switch=NAME, which the first core starts and both supervisors restart
when it dies; the cores reconnect to the new one on the same port
sockets).  The guests exchange sequence-numbered frames continuously
(guest.net_peer=1, tests/guest/virtio_net_peer.c: a window of W data
frames per guest the peer has not yet accounted for; lost frames are
counted, not failed on).  The test kills the switch with SIGKILL, waits
until both supervisors started a new one, both devices reconnected and
frames flow again both ways, waits a little (a random point in the
traffic), and kills again; then it types 'q' on both consoles and the
guests end their exchange and report.

Asserted:
- with split rings, each switch process (read just before it is killed,
  and the last one before the end: {"op":"stats"} on its control socket)
  copied most frames of each guest directly (its per-port "direct"
  counter above half its rx_frames);
  with packed rings the counts are printed only;
- both guests sent and checked PEER_LEN-byte frames (every byte: a
  frame of another length or with a wrong byte fails the guest);
- after each kill: one new switch process, vm.devices shows the restart
  and both devices reconnected; frames flow again in both directions;
  the killed process left no EAL runtime directory (splitvm-net removes
  it right after rte_eal_init);
- each kill lost at most W frames per direction (the gap lines the
  receiving guest printed between that kill and the next), and no frame
  was lost without a kill (before the first, after the last's gaps);
  the derivation of the bound is in virtio_net_peer.c and
  docs/architecture.md ("Recovery");
- totals: what one guest received plus what it counted lost is exactly
  what the other sent, lost <= KILLS * W per direction; no frame twice,
  none out of order, no used-ring anomaly, no DEVICE_NEEDS_RESET, both
  guests PASS and exit 0, one 'reconnected' line per kill per VM, no
  error line; frames were received after the last kill;
- at the end the switch is gone and so are the VMs' runtime directories.

Pacing: the supervisors restart a switch 100 ms after it dies and double
that while it keeps dying within 10 s; after QUICK_KILLS quick kills the
test lets the switch live past that, so outages stay short.
"""

import glob
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import ctlapi  # noqa: E402
import netpeer  # noqa: E402
import netswitch  # noqa: E402
import svmtest  # noqa: E402
from netbe import runtime_dirs  # noqa: E402
from svmtest import proc_gone, wait_until  # noqa: E402

splitvm, guest = (os.path.abspath(p) for p in sys.argv[1:3])
kills = int(sys.argv[3])
ring = sys.argv[4] if len(sys.argv) > 4 else None
c = svmtest.Checker(f"net_switch_kill ({kills} kills"
                    f"{', ' + ring + ' rings' if ring else ''})")
svmtest.require_kvm()
if os.geteuid() != 0:
    svmtest.skip("needs root: splitvm switches the back-ends to another user")

QUICK_KILLS = 4
# Frame length (guest.net_peer_len): long frames whose every byte the
# guests check, and still above a --copy-min a host might set.
PEER_LEN = 1000
STABLE_S = 10.5         # > SUPERVISOR_STABLE_MS: the restart delay is reset
RESUME_S = 90           # a kill to traffic in both directions again
# Frames received past the kill's count before traffic counts as resumed:
# more than a window, so frames sent after the restart came through.
RESUME_FRAMES = 64
RECONNECTED_RE = re.compile(r"\[net0\] reconnected to the vhost-user back-end")

tmp = tempfile.mkdtemp(prefix="splitvm-netkill-")
os.chown(tmp, 65534, 65534)     # the cores remove their API socket as nobody
switch = f"kill{os.getpid()}"
vms = []


def start_vm(name, mac):
    sock = os.path.join(tmp, f"{name}.api")
    argv = [splitvm, "--kernel", guest, "--memory", "64M",
            "--net", f"switch={switch},mac={mac}" +
            (f",ring={ring}" if ring else ""), "--api-socket", sock,
            "--cmdline", "guest.ticks=1 guest.net=4000000000 guest.net_peer=1 "
            f"guest.net_peer_len={PEER_LEN}"]
    vm = netswitch.start_vm(name, argv, sock, stdin=subprocess.PIPE,
                            stamp=True)
    vms.append(vm)
    return vm


def last_progress(vm):
    for _, l in reversed(list(vm["out"])):
        p = netpeer.progress(l)
        if p:
            return p
    return None


def received(vm):
    p = last_progress(vm)
    return p["received"] if p else 0


def net0(vm):
    return netswitch.device(vm["sock"])


def switch_pid(vm):
    return (net0(vm).get("backend") or {}).get("pid", 0)


def is_our_switch(pid):
    return netswitch.is_switch_process(pid, switch)


def gaps_between(vm, t0, t1):
    """The gap lines vm printed in [t0, t1): (first, lost) each."""
    return [netpeer.gap(l) for t, l in list(vm["out"])
            if t0 <= t < t1 and netpeer.gap(l)]


def restarted(n, old):
    """Both VMs see switch restart n: one new switch, both connected."""
    devs = [net0(vm) for vm in vms]
    pids = {(d.get("backend") or {}).get("pid", 0) for d in devs}
    return (len(pids) == 1 and pids.pop() not in (0, old) and
            all((d.get("backend") or {}).get("restarts") == n and
                (d.get("backend") or {}).get("state") == "running" and
                d.get("backend_state") == "connected" and
                d.get("restarts") == n for d in devs))


def extra_restarts(kills_so_far):
    """A hint when the switch ended more often than it was killed."""
    n = max(((net0(vm).get("backend") or {}).get("restarts") or 0)
            for vm in vms)
    return (f"; the switch ended {n - kills_so_far} more time(s) without "
            "being killed (each core's stderr: 'switch (pid N) gone')"
            if n > kills_so_far else "")


def path_sample(label):
    """What the running switch counted for each VM's port (its frames as
    the source): rx_frames and direct; {} where it did not answer."""
    st = netswitch.stats(switch)
    out = {"label": label}
    for vm in vms:
        counts = st and netswitch.port_counts(st, net0(vm).get("socket"))
        out[vm["name"]] = counts or {}
    return out


def check_direct(samples, ring):
    """Split rings (or rings the guest did not name: then it fails):
    every switch process copied most of both guests' frames straight from
    ring to ring. Packed: the counts, for the record."""
    for smp in samples:
        for vm in vms:
            cnt = smp[vm["name"]]
            direct, rx = cnt.get("direct"), cnt.get("rx_frames")
            print(f"  info {smp['label']}: {vm['name']}'s port rx_frames "
                  f"{rx} direct {direct}")
            if ring == "packed":
                continue
            # Most, not all: frames flooded before the new switch learned
            # the peer's MAC, and frames for a full ring, take other ways.
            c.check(direct is not None and direct > 0 and 2 * direct > rx,
                    f"{smp['label']}: the switch copied most of "
                    f"{vm['name']}'s {PEER_LEN}-byte frames directly "
                    "(--copy direct)",
                    f"stats of {vm['name']}'s port: {cnt or 'no answer'}")


def eal_leftovers(pid):
    """EAL runtime directories of splitvm-net pid: its supervisor points
    XDG_RUNTIME_DIR at the switch's directory (BASE/uUID/net-NAME, BASE
    /run/splitvm, $XDG_RUNTIME_DIR/splitvm or /tmp/splitvm-UID), which
    lives as long as the switch is used, across restarts."""
    prefix = f"splitvm-net-{pid}"
    bases = ["/run/splitvm", "/tmp/splitvm-*"]
    if os.environ.get("XDG_RUNTIME_DIR"):
        bases.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "splitvm"))
    found = [d for b in bases for d in glob.glob(
        os.path.join(b, "u*", f"net-{switch}", "dpdk", prefix))]
    return found + runtime_dirs(prefix)


def kill_loop(a, b, rng, samples):
    """The kills; their times, or None when one went wrong. Each switch's
    counters, read just before its kill, go to samples."""
    times = []
    born = time.monotonic()
    outages = []
    for i in range(kills):
        if i and i % QUICK_KILLS == 0:
            time.sleep(max(0.0, STABLE_S - (time.monotonic() - born)))
        time.sleep(rng.uniform(0.5, 2.0))
        old = switch_pid(a)
        if not c.check(old > 0 and old == switch_pid(b) and
                       is_our_switch(old),
                       f"kill {i + 1}: both VMs name one switch process, "
                       "this test's", f"{old} {switch_pid(b)}"):
            return None
        samples.append(path_sample(f"switch before kill {i + 1}"))
        before = (received(a), received(b))
        t = time.monotonic()
        os.kill(old, signal.SIGKILL)
        times.append(t)
        if not c.check(wait_until(lambda: restarted(i + 1, old), RESUME_S),
                       f"kill {i + 1}: a new switch, both devices "
                       f"reconnected (restarts {i + 1})",
                       f"{net0(a)} {net0(b)}" + extra_restarts(i + 1)):
            return None
        c.check(not eal_leftovers(old),
                f"kill {i + 1}: the killed switch left no EAL runtime "
                "directory", str(eal_leftovers(old)))
        born = time.monotonic()
        ok = wait_until(lambda: received(a) > before[0] + RESUME_FRAMES and
                        received(b) > before[1] + RESUME_FRAMES, RESUME_S)
        outages.append(time.monotonic() - t)
        if not c.check(ok, f"kill {i + 1}: frames flow again both ways",
                       f"received {before} at the kill, now "
                       f"{(received(a), received(b))}"):
            return None
    outages.sort()
    print(f"  info kill to traffic both ways again (indicative): median "
          f"{outages[len(outages) // 2]:.2f}s, min {outages[0]:.2f}s, "
          f"max {outages[-1]:.2f}s")
    return times


def check_losses(a, b, times, t_stop, window):
    """Per kill and per direction: at most a window lost."""
    bounds = [0.0] + times + [t_stop]
    for rx, tx in ((b, a), (a, b)):
        way = f"{tx['name']}->{rx['name']}"
        per_kill = []
        for i in range(len(bounds) - 1):
            g = gaps_between(rx, bounds[i], bounds[i + 1])
            per_kill.append(sum(n for _, n in g))
            if i == 0:
                c.check(not g, f"{way}: no frame lost before the first kill",
                        str(g))
            else:
                c.check(per_kill[-1] <= window,
                        f"{way}: kill {i} lost {per_kill[-1]} frames "
                        f"(at most the window, {window})", str(g))
        late = gaps_between(rx, t_stop, float("inf"))
        c.check(not late, f"{way}: no frame lost after the last kill's gap "
                "(the END showed none missing)", str(late))
        print(f"  info {way}: frames lost per kill {per_kill[1:]}")


def check_reports(a, b, ra, rb, window):
    for rx, tx, r, s in ((a, b, ra, rb), (b, a, rb, ra)):
        name = rx["name"]
        c.check(r["used_anomalies"] == 0,
                f"{name}: no used-ring anomaly on either ring",
                f"bad_id={r['used_bad_id']} twice={r['used_twice']} "
                f"idx_back={r['used_idx_back']} idx_jump={r['used_idx_jump']}")
        c.check(r["dup"] == 0 and r["ooo"] == 0,
                f"{name}: no frame of {tx['name']} twice or out of order",
                f"dup={r['dup']} ooo={r['ooo']}")
        c.check(r["needs_reset"] == 0 and r["end"] == "ok",
                f"{name}: never DEVICE_NEEDS_RESET, the exchange ended "
                "cleanly", f"needs_reset={r['needs_reset']} end={r['end']}")
        c.check(r["bad"] == 0 and r["own_back"] == 0 and r["other"] == 0,
                f"{name}: every frame checked and came from its peer",
                f"bad={r['bad']} own_back={r['own_back']} other={r['other']}")
        c.check(r["peer_sent"] == s["sent"] and
                r["received"] + r["lost"] == s["sent"],
                f"{name}: received {r['received']} + lost {r['lost']} = "
                f"{tx['name']}'s {s['sent']} sent",
                f"peer_sent={r['peer_sent']}")
        c.check(r["lost"] <= kills * window,
                f"{name}: {r['lost']} lost in all, at most {kills} kills x "
                f"{window}")
        c.equal(r["window"], window, f"{name}: the same window as its peer")


def main():
    a = start_vm("A", "52:54:00:00:0c:0a")
    b = start_vm("B", "52:54:00:00:0c:0b")
    for vm in (a, b):
        if not c.check(ctlapi.wait_for_socket(vm["sock"], vm["proc"], 120),
                       f"VM {vm['name']} runs, its API answers"):
            netswitch.dump(vm, 25)
            return
    if not c.check(wait_until(lambda: received(a) > RESUME_FRAMES and
                              received(b) > RESUME_FRAMES, 120),
                   "the guests exchange frames through the switch"):
        netswitch.dump(a, 25)
        netswitch.dump(b, 25)
        return
    ring = next((m.group(1) for l in netswitch.vm_lines(a)
                 for m in [re.search(r"guest: net \S+ features=.* ring=(\S+)",
                                     l)] if m), "?")
    print(f"  info virtqueues: {ring}")
    samples = []
    times = kill_loop(a, b, random.Random(os.getpid()), samples)
    if times is None:
        netswitch.dump(a, 25)
        netswitch.dump(b, 25)
        return
    at_last = (received(a), received(b))
    last_switch = switch_pid(a)
    time.sleep(1.0)
    samples.append(path_sample("switch after the last kill"))
    t_stop = time.monotonic()
    for vm in (a, b):
        vm["proc"].stdin.write(b"q")
        vm["proc"].stdin.flush()
    for vm in (a, b):
        try:
            vm["proc"].wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        c.equal(vm["proc"].returncode, svmtest.EXIT_POWEROFF,
                f"VM {vm['name']} ends, exit 0 (guest PASS)")
    time.sleep(0.2)     # the reader threads' last lines
    ra, rb = netpeer.report(netswitch.vm_lines(a)), \
        netpeer.report(netswitch.vm_lines(b))
    if not c.check(ra and rb, "both guests reported their exchange"):
        netswitch.dump(a, 25)
        netswitch.dump(b, 25)
        return
    window = ra["window"]
    for r, vm in ((ra, a), (rb, b)):
        c.equal(r.get("len"), PEER_LEN, f"VM {vm['name']}: its frames were "
                f"{PEER_LEN} bytes (guest.net_peer_len)")
    check_direct(samples, ring)
    print(f"  info A sent {ra['sent']} received {ra['received']} lost "
          f"{ra['lost']} probes {ra['probes']}; B sent {rb['sent']} "
          f"received {rb['received']} lost {rb['lost']} probes {rb['probes']}")
    check_reports(a, b, ra, rb, window)
    check_losses(a, b, times, t_stop, window)
    c.check(ra["received"] > at_last[0] and rb["received"] > at_last[1],
            "frames received after the last kill, both ways",
            f"{at_last} at the last check, {ra['received']} "
            f"{rb['received']} at the end")
    for vm in (a, b):
        out, err = netswitch.vm_lines(vm), netswitch.vm_lines(vm, "err")
        c.check("guest: result=PASS" in out, f"VM {vm['name']}: guest PASS",
                str([l for l in out if "FAIL" in l or "warning" in l][:4]))
        n = sum(1 for l in err if RECONNECTED_RE.search(l))
        c.equal(n, kills, f"VM {vm['name']}: one 'reconnected' line per kill")
        bad = [l for l in err if ": error:" in l or "NEEDS_RESET" in l]
        c.equal(bad, [], f"VM {vm['name']}: no error line")
    c.check(wait_until(lambda: proc_gone(last_switch) and
                       not netswitch.control_sockets(switch), 15),
            "the switch ended with its last VM", str(last_switch))
    c.check(not any(glob.glob(f"/run/splitvm/u*/vm-{vm['proc'].pid}")
                    for vm in (a, b)), "no VM runtime directory left")
    if c.failed:
        netswitch.dump(a, 25)
        netswitch.dump(b, 25)


try:
    main()
finally:
    for vm in vms:
        if vm["proc"].poll() is None:
            vm["proc"].kill()
            vm["proc"].wait()
    netswitch.clean_up(switch)
    subprocess.run(["rm", "-rf", tmp])
c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""guest.net_peer_len=L: the test guest's peer exchange with frames of L
bytes (tests/guest/virtio_net_peer.c), through a switch splitvm starts.

argv: splitvm guest

Asserted:
- a length out of range (77, 1515), not a number, or given without
  guest.net_peer=1 fails the guest's net test at once: a warning line
  that says why (for a bad length), the verdict names the option, the
  VM exits with the guest's FAIL status;
- two guests on one switch with split rings exchange N frames of the
  longest length, 1514 bytes: both PASS (every frame of exactly that
  length, every byte checked), each received what the other sent, their
  reports say len=1514; and the switch ({"op":"stats"} on its control
  socket) copied most of each guest's frames directly, guest buffer to
  guest buffer (--copy direct, the default).
"""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import ctlapi  # noqa: E402
import netpeer  # noqa: E402
import netswitch  # noqa: E402
import svmtest  # noqa: E402
from svmtest import wait_until  # noqa: E402

splitvm, guest = (os.path.abspath(p) for p in sys.argv[1:3])
c = svmtest.Checker("net_peer_len")
svmtest.require_kvm()
if os.geteuid() != 0:
    svmtest.skip("needs root: splitvm switches the back-ends to another user")

FRAMES = 3000
LEN = 1514
BAD = (("guest.net_peer=1 guest.net_peer_len=77",
        "guest.net_peer_len=77: frames are 78 to 1514 bytes",
        "guest.net_peer_len out of range"),
       ("guest.net_peer=1 guest.net_peer_len=1515",
        "guest.net_peer_len=1515: frames are 78 to 1514 bytes",
        "guest.net_peer_len out of range"),
       ("guest.net_peer=1 guest.net_peer_len=1k",
        "guest.net_peer_len is not a number",
        "guest.net_peer_len out of range"),
       ("guest.net_peer_len=300", None,
        "guest.net_peer_len without guest.net_peer=1"))

tmp = tempfile.mkdtemp(prefix="splitvm-peerlen-")
os.chown(tmp, 65534, 65534)     # the cores remove their API socket as nobody
switch = f"plen{os.getpid()}"
vms = []


def argv(mac, cmdline, sock=None):
    return ([splitvm, "--kernel", guest, "--memory", "64M",
             "--net", f"switch={switch},mac={mac},ring=split"] +
            (["--api-socket", sock] if sock else []) +
            ["--cmdline", "guest.ticks=1 " + cmdline])


def bad_options():
    for cmdline, warning, reason in BAD:
        r = svmtest.run(argv("52:54:00:00:0d:01", "guest.net=100 " + cmdline))
        c.equal(r.status, svmtest.GUEST_FAIL,
                f"{cmdline}: the guest fails")
        if warning:
            c.check(f"guest: warning: {warning}" in r.stdout,
                    f"{cmdline}: it says why ({warning})",
                    r.stdout[-600:])
        c.check(f'guest: result=FAIL reason="{reason}"' in r.stdout,
                f"{cmdline}: the verdict names it ({reason})",
                r.stdout[-600:])


def start_vm(name, mac):
    sock = os.path.join(tmp, f"{name}.api")
    vm = netswitch.start_vm(
        name, argv(mac, f"guest.net={FRAMES} guest.net_peer=1 "
                   f"guest.net_peer_len={LEN} guest.exit=beat", sock), sock)
    vms.append(vm)
    return vm


def verdict(vm):
    return next((l for l in list(vm["out"]) if "guest: result=" in l), None)


def longest_frames():
    a = start_vm("A", "52:54:00:00:0d:0a")
    b = start_vm("B", "52:54:00:00:0d:0b")
    for vm in (a, b):
        if not c.check(ctlapi.wait_for_socket(vm["sock"], vm["proc"], 120),
                       f"VM {vm['name']} runs, its API answers"):
            netswitch.dump(vm)
            return
    if not c.check(wait_until(lambda: verdict(a) and verdict(b), 180),
                   "both guests end their exchange"):
        netswitch.dump(a)
        netswitch.dump(b)
        return
    # The switch runs while the VMs beat: its counters are still there.
    st = netswitch.stats(switch)
    c.check(st is not None, "the switch answers {\"op\":\"stats\"}")
    reports = {vm["name"]: netpeer.report(list(vm["out"])) for vm in (a, b)}
    for vm, peer in ((a, b), (b, a)):
        r, p = reports[vm["name"]], reports[peer["name"]]
        c.equal(verdict(vm), "guest: result=PASS",
                f"VM {vm['name']}: guest PASS")
        if not c.check(r and p, f"VM {vm['name']}: a peer report"):
            netswitch.dump(vm)
            continue
        c.equal(r["len"], LEN, f"VM {vm['name']}: len={LEN} in its report")
        c.check(r["bad"] == 0 and r["dup"] == 0 and r["ooo"] == 0 and
                r["received"] == p["sent"] == FRAMES,
                f"VM {vm['name']}: received all {FRAMES} frames of "
                f"{peer['name']}, each checked",
                f"received={r['received']} bad={r['bad']} dup={r['dup']} "
                f"ooo={r['ooo']} peer sent={p['sent']}")
        cnt = st and netswitch.port_counts(st, netswitch.device(
            vm["sock"]).get("socket"))
        c.check(cnt and cnt["direct"] > 0 and
                2 * cnt["direct"] > cnt["rx_frames"],
                f"the switch copied most of {vm['name']}'s {LEN}-byte "
                "frames directly (--copy direct)", str(cnt))
    if c.failed:
        netswitch.dump(a)
        netswitch.dump(b)


try:
    bad_options()
    longest_frames()
finally:
    for vm in vms:
        svmtest.stop(vm["proc"])
    netswitch.clean_up(switch)
    subprocess.run(["rm", "-rf", tmp])
c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""VMs on one shared switch, separated by `--net switch=NAME,vlan=N`.

argv: splitvm guest

Four VMs of the test guest on one switch of this test's own, which the
first core starts: A and B with vlan=10, C and D with vlan=20. Each pair
exchanges sequence-numbered broadcast frames (guest.net_peer=1
guest.net_peer_bcast=1, tests/guest/virtio_net_peer.c), and a guest that receives a frame from
any MAC but its peer's counts it (other=) and fails. Every frame is a
broadcast, which an unaware switch floods to every port: without the
VLANs each guest would get the other pair's frames.

A fifth VM, E, joins for a while with trunk=10 (a router's port): it
must get VLAN 10's frames tagged, and its own untagged frames (no
native VLAN) must reach nobody.

In the middle of the traffic the test kills the switch with SIGKILL: the
supervisors start a new one and add their ports again, which must bring
back their VLANs (a port added without them would be VLAN-unaware and
reach no VLAN port at all, its guest's traffic would stop).

Asserted:
- vm.devices shows each port's VLAN ("access vlan 10");
- E receives VLAN 10's frames with their 802.1Q tag;
- each guest exchanged frames with its peer (the peer's MAC, frames
  received both before and after the kill, the exchange ended cleanly),
  never received a frame from the other VLAN's pair (other=0, bad=0), no
  frame twice; all four PASS and exit 0;
- after the kill: one new switch, every device reconnected;
- the real binary refuses a VLAN with socket= and a bad id: exit 2, one
  line that says why;
- at the end the switch is gone.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import ctlapi  # noqa: E402
import netpeer  # noqa: E402
import netswitch  # noqa: E402
import svmtest  # noqa: E402
from svmtest import proc_gone, wait_until  # noqa: E402

splitvm, guest = (os.path.abspath(p) for p in sys.argv[1:3])
c = svmtest.Checker("net_switch_vlan")
svmtest.require_kvm()
if os.geteuid() != 0:
    svmtest.skip("needs root: splitvm switches the back-ends to another user")

# Frames received beyond a mark before traffic counts as flowing: more
# than a window (32), so they were sent through the current switch.
FLOW_FRAMES = 64
WAIT_S = 180            # four VMs on two shared cores: be patient
VMS = (("A", 10, "52:54:00:00:0a:0a", "B"),
       ("B", 10, "52:54:00:00:0a:0b", "A"),
       ("C", 20, "52:54:00:00:14:0c", "D"),
       ("D", 20, "52:54:00:00:14:0d", "C"))

tmp = tempfile.mkdtemp(prefix="splitvm-netvlan-")
os.chown(tmp, 65534, 65534)     # the cores remove their API socket as nobody
switch = f"vlan{os.getpid()}"
vms = {}


def start_vm(name, vlan, mac,
             test="guest.net=4000000000 guest.net_peer=1 "
             "guest.net_peer_bcast=1"):
    sock = os.path.join(tmp, f"{name}.api")
    vm = netswitch.start_vm(
        name, [splitvm, "--kernel", guest, "--memory", "64M", "--api-socket",
               sock, "--net", f"switch={switch},{vlan},mac={mac}",
               "--cmdline", "guest.ticks=1 " + test],
        sock, stdin=subprocess.PIPE)
    vm["mac"] = mac
    vms[name] = vm
    return vm


def received(vm):
    for line in reversed(list(vm["out"])):
        p = netpeer.progress(line)
        if p:
            return p["received"]
    return 0


def net0(vm):
    return netswitch.device(vm["sock"])


def backend(vm):
    return net0(vm).get("backend") or {}


def all_flowing(marks):
    return all(received(vm) > marks[n] + FLOW_FRAMES
               for n, vm in vms.items())


def all_reconnected(old):
    devs = [net0(vm) for vm in vms.values()]
    pids = {(d.get("backend") or {}).get("pid", 0) for d in devs}
    return (len(pids) == 1 and pids.pop() not in (0, old) and
            all(d.get("restarts") == 1 and
                d.get("backend_state") == "connected" and
                (d.get("backend") or {}).get("state") == "running"
                for d in devs))


def bad_options():
    cases = [("socket=/nonexistent.sock,vlan=10", "go with switch=NAME"),
             (f"switch={switch},vlan=4095", "not a VLAN id from 1 to 4094"),
             (f"switch={switch},trunk=10:10", "VLAN 10 listed twice"),
             (f"switch={switch},vlan=10,trunk=20", "exclude each other")]
    for arg, why in cases:
        r = svmtest.run([splitvm, "--kernel", guest, "--net", arg], timeout=30)
        err = r.stderr.strip().splitlines()
        c.check(r.status == svmtest.EXIT_USAGE and len(err) == 1 and
                why in err[0], f"--net {arg}: exit 2, one line: {why}",
                f"status {r.status}: {err}")


def trunk_port():
    """E, trunk=10 without a native VLAN, while A and B flood VLAN 10:
    their frames reach E tagged (the test guest counts them received
    and warns once about their EtherType, 0x8100), E's own untagged
    frames are dropped by the switch (A and B would count them)."""
    e = start_vm("E", "trunk=10", "52:54:00:00:0a:0e",
                 test="guest.net=64 guest.net_expect=0")
    try:
        e["proc"].wait(timeout=120)
    except subprocess.TimeoutExpired:
        e["proc"].kill()
        e["proc"].wait()
    del vms["E"]
    got = [x for x in e["out"] if x.startswith("guest: net ") and
           " received=" in x]
    # It counts what came until its 64 were sent and received: A and B
    # keep flooding, so a last batch may add a few.
    rx = re.search(r" received=(\d+) ", got[0]) if got else None
    c.check(e["proc"].returncode == svmtest.EXIT_POWEROFF and rx and
            int(rx.group(1)) >= 64 and
            "guest: warning: net frame ethertype 0x8100" in e["out"],
            "E (trunk=10) got 64 or more frames of VLAN 10, tagged",
            f"exit {e['proc'].returncode}: {got}")


def is_our_switch(pid):
    return netswitch.is_switch_process(pid, switch)


def main():
    bad_options()
    for name, vlan, mac, _ in VMS:
        start_vm(name, f"vlan={vlan}", mac)
    for vm in vms.values():
        if not c.check(ctlapi.wait_for_socket(vm["sock"], vm["proc"], 120),
                       f"VM {vm['name']} runs, its API answers"):
            netswitch.dump(vm)
            return
    for name, vlan, _, _ in VMS:
        c.equal(backend(vms[name]).get("vlan"), f"access vlan {vlan}",
                f"VM {name}: vm.devices shows the port's VLAN")
    zero = {n: 0 for n in vms}
    if not c.check(wait_until(lambda: all_flowing(zero), WAIT_S),
                   "every pair exchanges frames through the switch",
                   str({n: received(vm) for n, vm in vms.items()})):
        return
    trunk_port()
    old = backend(vms["A"]).get("pid", 0)
    if not c.check(old > 0 and is_our_switch(old),
                   "vm.devices names this test's switch process", str(old)):
        return
    marks = {n: received(vm) for n, vm in vms.items()}
    os.kill(old, signal.SIGKILL)
    if not c.check(wait_until(lambda: all_reconnected(old), WAIT_S),
                   "after a kill -9: one new switch, every device "
                   "reconnected", str([net0(vm) for vm in vms.values()])):
        return
    c.check(wait_until(lambda: all_flowing(marks), WAIT_S),
            "every pair exchanges frames again through the new switch",
            f"{marks} at the kill, now "
            f"{ {n: received(vm) for n, vm in vms.items()} }")
    last_switch = backend(vms["A"]).get("pid", 0)
    for vm in vms.values():
        vm["proc"].stdin.write(b"q")
        vm["proc"].stdin.flush()
    for vm in vms.values():
        try:
            vm["proc"].wait(timeout=90)
        except subprocess.TimeoutExpired:
            pass
        c.equal(vm["proc"].returncode, svmtest.EXIT_POWEROFF,
                f"VM {vm['name']} ends, exit 0 (guest PASS)")
    wait_until(lambda: all(netpeer.report(list(vm["out"]))
                           for vm in vms.values()), 5)
    for name, vlan, _, peer in VMS:
        vm = vms[name]
        r = netpeer.report(list(vm["out"]))
        if not c.check(r is not None, f"VM {name} reported its exchange"):
            continue
        c.equal(r["mac"], vms[peer]["mac"],
                f"{name} (VLAN {vlan}) exchanged frames with {peer}")
        c.check(r["other"] == 0 and r["bad"] == 0 and r["own_back"] == 0,
                f"{name}: no frame from the other VLAN's guests (nor its "
                "own back)", f"other={r['other']} bad={r['bad']} "
                f"own_back={r['own_back']}")
        c.check(r["received"] > marks[name] and r["dup"] == 0 and
                r["end"] == "ok", f"{name}: received {r['received']} of "
                f"{peer}'s frames, {marks[name]} before the kill, none "
                "twice, the exchange ended cleanly",
                f"dup={r['dup']} end={r['end']}")
        c.check("guest: result=PASS" in vm["out"], f"{name}: guest PASS",
                str([x for x in vm["out"] if "FAIL" in x][:3]))
        bad = [x for x in vm["err"] if ": error:" in x]
        c.equal(bad, [], f"VM {name}: no error line")
    c.check(wait_until(lambda: proc_gone(last_switch) and
                       not netswitch.control_sockets(switch), 15),
            "the switch ended with its last VM", str(last_switch))
    if c.failed:
        for vm in vms.values():
            netswitch.dump(vm)


try:
    main()
finally:
    for vm in vms.values():
        if vm["proc"].poll() is None:
            vm["proc"].kill()
            vm["proc"].wait()
    netswitch.clean_up(switch)
    subprocess.run(["rm", "-rf", tmp])
c.finish()

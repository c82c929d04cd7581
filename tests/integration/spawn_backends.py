#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm starts, jails and restarts its own back-ends.

Two VMs (A: --disk path= and --net switch=, B: --disk path= and --net
switch= on the same switch), started as root as a user would:

- every process and every thread of A's core, A's supervisor, both
  splitvm-blk and the shared splitvm-net: CapEff, CapPrm, CapBnd and
  CapAmb 0, NoNewPrivs 1, Seccomp 2; the back-ends and the supervisor
  are not uid 0;
- the back-ends' fds: no /dev/kvm, no fd of the other VM's image, the
  switch no image at all, A's splitvm-blk only its own image;
- the guests' frames cross the switch (guest.net_peer=1: each receives
  every frame the other broadcasts, none twice, and never its own);
- kill -9 of A's splitvm-blk and of the switch: both come back with new
  pids and vm.devices counts the restarts; a device-restart request
  restarts splitvm-blk and is refused (409) for the shared switch;
- A ends first: the switch lives on (same pid) for B, B's port in it;
  once B ends the switch is gone and so are both VMs' runtime
  directories;
- two cores started at the same moment on a new switch start one switch;
- a spawned splitvm-blk that opens /dev/kvm once jailed dies of SIGSYS;
- bad --disk/--net/--backend-* options: exit 2 and one error line.
"""

import glob
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import ctlapi  # noqa: E402
import netpeer  # noqa: E402
import svmtest  # noqa: E402
from svmtest import (proc_children, proc_gone, proc_status, stop,  # noqa: E402
                     wait_until)

splitvm, ctl, guest = (os.path.abspath(p) for p in sys.argv[1:4])
c = svmtest.Checker("spawn_backends")
svmtest.require_kvm()
if os.geteuid() != 0:
    svmtest.skip("needs root: splitvm switches the back-ends to another user")
if not ctlapi.have_curl():
    svmtest.skip("curl is not installed (contrib/quickstart installs it)")

tmp = tempfile.mkdtemp(prefix="splitvm-spawn-")
os.chown(tmp, 65534, 65534)     # the cores remove their API socket as nobody
switch = f"test{os.getpid()}"
FRAMES = 4000
procs = []


def bad_options():
    cases = [
        (["--disk", "path="], "path= needs an image"),
        (["--disk", "path=/nonexistent.img"], "No such file"),
        (["--disk", "path=/x.img,socket=/y.sock"], "exactly one of"),
        (["--disk", "socket=/y.sock,readonly"], "readonly goes with path="),
        (["--net", "switch=a/b"], "switch=a/b"),
        (["--net", "switch="], "switch="),
        (["--net", "switch=s,queues=2"], "one queue pair"),
        (["--net", "switch=s,path=/x"], "unknown key"),
        (["--backend-user", "0"], "never run as root"),
        (["--backend-user", "no-such-user-xyz"], "no such user"),
        (["--backend-dir", "/nonexistent", "--disk", f"path={guest}"],
         "cannot find the program splitvm-blk"),
    ]
    for args, want in cases:
        r = subprocess.run([splitvm, "--kernel", guest] + args,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        err = r.stderr.decode(errors="replace").strip()
        lines = err.splitlines()
        status = 2 if "path=/nonexistent.img" not in args[-1] and \
            "/nonexistent" not in args[1] else 1
        c.check(r.returncode == status and len(lines) == 1 and want in err,
                f"{' '.join(args)}: exit {status}, one line naming it",
                f"exit {r.returncode}: {err!r}")


def probe_kvm():
    """A spawned splitvm-blk that opens /dev/kvm once jailed dies of it."""
    img = os.path.join(tmp, "probe.img")
    with open(img, "wb") as f:
        f.truncate(1 << 20)
    env = dict(os.environ, SPLITVM_TEST_BACKEND_PROBE="kvm")
    r = subprocess.run([splitvm, "--kernel", guest, "--memory", "64M",
                        "--disk", f"path={img}", "--cmdline", "guest.ticks=1"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=120)
    err = r.stderr.decode(errors="replace")
    c.check(re.search(r"splitvm-blk \(pid \d+\) killed by signal 31", err),
            "spawned splitvm-blk: open(/dev/kvm) once jailed is killed by "
            "its seccomp filter (SIGSYS), and the supervisor says so", err)
    c.check(r.returncode == 1,
            "splitvm without its disk back-end: exit 1", str(r.returncode))


def simultaneous():
    """Two cores started at once on a new switch start one switch."""
    name = f"race{os.getpid()}"
    vms = []
    for i in range(2):
        sock = os.path.join(tmp, f"race{i}.api")
        p = subprocess.Popen([splitvm, "--kernel", guest, "--memory", "64M",
                              "--net", f"switch={name}", "--api-socket", sock,
                              "--cmdline", "guest.ticks=1 guest.exit=beat"],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        procs.append(p)
        vms.append({"proc": p, "sock": sock})
    up = all(ctlapi.wait_for_socket(vm["sock"], vm["proc"]) for vm in vms)
    pids = [backend(vm, "net0").get("pid") for vm in vms]
    c.check(up and pids[0] and pids[0] == pids[1],
            "two VMs started at once on a new switch share one switch",
            str(pids))
    # The first VM's supervisor killed: the switch drops its port itself.
    sup = proc_children(vms[0]["proc"].pid)
    port0 = glob.glob(f"/run/splitvm/u*/net-{name}/vm{vms[0]['proc'].pid}-net0.sock")
    port1 = glob.glob(f"/run/splitvm/u*/net-{name}/vm{vms[1]['proc'].pid}-net0.sock")
    if sup and port0 and port1:
        os.kill(sup[0], signal.SIGKILL)
        c.check(wait_until(lambda: not os.path.exists(port0[0]), 15) and
                os.path.exists(port1[0]),
                "supervisor killed: the switch removes its port, keeps the other")
    else:
        c.check(False, "supervisor and both ports found", f"{sup} {port0} {port1}")
    for vm in vms:
        stop(vm["proc"])
    for d in glob.glob(f"/run/splitvm/u*/net-{name}") + \
            glob.glob(f"/run/splitvm/u*/vm-{vms[0]['proc'].pid}"):
        subprocess.run(["rm", "-rf", d])


def start_vm(name, mac, image, extra_cmdline):
    sock = os.path.join(tmp, f"{name}.api")
    out = os.path.join(tmp, f"{name}.out")
    err = os.path.join(tmp, f"{name}.err")
    argv = [splitvm, "--kernel", guest, "--memory", "128M",
            "--disk", f"path={image}",
            "--net", f"switch={switch},mac={mac}",
            "--api-socket", sock,
            "--cmdline", f"guest.ticks=1 guest.net={FRAMES} guest.net_peer=1 "
            "guest.exit=beat " + extra_cmdline]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=open(out, "wb"), stderr=open(err, "wb"))
    procs.append(p)
    return {"name": name, "proc": p, "sock": sock, "out": out, "err": err,
            "image": image}


def text(path):
    with open(path, errors="replace") as f:
        return f.read()


def dump(vm):
    for line in text(vm["out"]).splitlines()[-15:]:
        print(f"    {vm['name']} | {line}")
    for line in text(vm["err"]).splitlines()[-20:]:
        print(f"    {vm['name']} ! {line}")


def devices(vm):
    status, d = ctlapi.get_json(vm["sock"], "/api/v1/vm.devices")
    if status != 200:
        return {}
    return {x["id"]: x for x in d["devices"]}


def backend(vm, dev):
    return (devices(vm).get(dev) or {}).get("backend") or {}


def check_jailed(pid, what, root_ok=False):
    """Every thread: no capability, no_new_privs, seccomp filter mode."""
    bad = []
    tasks = glob.glob(f"/proc/{pid}/task/*/status")
    for t in tasks:
        f = proc_status(t)
        for k in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
            if int(f.get(k, "1"), 16) != 0:
                bad.append(f"{t}: {k} {f.get(k)}")
        if f.get("NoNewPrivs") != "1":
            bad.append(f"{t}: NoNewPrivs {f.get('NoNewPrivs')}")
        if f.get("Seccomp") != "2":
            bad.append(f"{t}: Seccomp {f.get('Seccomp')}")
        uids = f.get("Uid", "0").split()
        if not root_ok and "0" in uids:
            bad.append(f"{t}: Uid {f.get('Uid')}")
    c.check(tasks and not bad,
            f"{what} (pid {pid}, {len(tasks)} threads): caps 0, "
            "no_new_privs, seccomp 2" + ("" if root_ok else ", not root"),
            "; ".join(bad[:6]) or "no threads")


def fd_targets(pid):
    out = []
    for fd in glob.glob(f"/proc/{pid}/fd/*"):
        try:
            out.append(os.readlink(fd))
        except OSError:
            pass
    return out


def frames_received(vm):
    """The guest's peer exchange report (tests/pylib/netpeer.py), or None."""
    return netpeer.report(text(vm["out"]).splitlines())


def main():
    bad_options()
    probe_kvm()
    simultaneous()
    img_a = os.path.join(tmp, "a.img")
    img_b = os.path.join(tmp, "b.img")
    for img in (img_a, img_b):
        with open(img, "wb") as f:
            f.truncate(64 << 20)
        os.chmod(img, 0o600)    # root's: the back-ends get an fd, no path
    # Each guest probes until it hears the other, then sends its FRAMES
    # (guest.net_peer=1): which one starts first does not matter.
    a = start_vm("A", "52:54:00:00:00:0a", img_a, "guest.blk=1")
    b = start_vm("B", "52:54:00:00:00:0b", img_b, "guest.blk=1")
    for vm in (a, b):
        if not c.check(ctlapi.wait_for_socket(vm["sock"], vm["proc"]),
                       f"VM {vm['name']} runs with spawned back-ends"):
            dump(vm)
            return
    ok = wait_until(lambda: all(frames_received(vm) for vm in (a, b)), 90)
    for vm in (a, b):
        r = frames_received(vm) or {}
        c.check(ok and r.get("received") == FRAMES and r.get("lost") == 0 and
                r.get("dup") == 0 and r.get("own_back") == 0 and
                r.get("end") == "ok",
                f"VM {vm['name']}: all {FRAMES} frames of the other VM came "
                "through the switch, none lost or twice, none of its own "
                "back", str(r))
        c.check("guest: blk" in text(vm["out"]) and
                "verified=40" in text(vm["out"]),
                f"VM {vm['name']}: the guest's disk test passed on splitvm-blk")
    if not ok:
        dump(a)
        dump(b)

    blk_a = backend(a, "blk0")
    net_a = backend(a, "net0")
    blk_b = backend(b, "blk0")
    net_b = backend(b, "net0")
    c.check(blk_a.get("state") == "running" and blk_a.get("pid", 0) > 0,
            "vm.devices: blk0 shows its splitvm-blk pid, running", str(blk_a))
    c.check(net_a.get("pid") == net_b.get("pid") and net_a.get("pid", 0) > 0
            and net_a.get("switch") == switch,
            "vm.devices: both VMs' net0 name the same switch process",
            f"{net_a} {net_b}")
    for vm in (a, b):
        core = vm["proc"].pid
        sup = proc_children(core)
        c.check(len(sup) == 1, f"VM {vm['name']}'s core has one child, its "
                "supervisor", str(sup))
        check_jailed(core, f"core {vm['name']}")
        for pid in sup:
            check_jailed(pid, f"supervisor {vm['name']}")
    check_jailed(blk_a["pid"], "splitvm-blk A")
    check_jailed(blk_b["pid"], "splitvm-blk B")
    check_jailed(net_a["pid"], "splitvm-net switch")

    fa, fb, fs = (fd_targets(blk_a["pid"]), fd_targets(blk_b["pid"]),
                  fd_targets(net_a["pid"]))
    for what, fds in (("splitvm-blk A", fa), ("splitvm-blk B", fb),
                      ("switch", fs)):
        c.check(not any("kvm" in t for t in fds), f"{what}: no /dev/kvm fd",
                str(fds))
    c.check(img_a in fa and img_b not in fa and
            not any(t.startswith("/run/splitvm") and f"vm-{b['proc'].pid}" in t
                    for t in fa),
            "splitvm-blk A: its own image, nothing of VM B", str(fa))
    c.check(img_b in fb and img_a not in fb, "splitvm-blk B: its own image only",
            str(fb))
    c.check(img_a not in fs and img_b not in fs, "switch: no image", str(fs))

    # kill -9 of A's disk back-end: restarted on the same socket path.
    old = blk_a["pid"]
    os.kill(old, signal.SIGKILL)
    ok = wait_until(lambda: backend(a, "blk0").get("restarts") == 1 and
                    backend(a, "blk0").get("state") == "running", 30)
    now = backend(a, "blk0")
    c.check(ok and now.get("pid") not in (0, old),
            "kill -9 of splitvm-blk: a new one runs, restarts 1", str(now))
    # The device reconnects to the new process on the same path.
    ok = wait_until(lambda: devices(a).get("blk0", {}).get("restarts") == 1
                    and devices(a)["blk0"].get("backend_state") ==
                    "connected", 30)
    c.check(ok, "vm.devices: blk0 reconnected to it, restarts 1",
            str(devices(a).get("blk0")))
    if now.get("pid"):
        check_jailed(now["pid"], "restarted splitvm-blk A")

    # A restart on request.
    status, _, body = ctlapi.curl(a["sock"], "POST", "/api/v1/vm.device-restart",
                                  body='{"id": "blk0"}')
    c.equal(status, 202, "device-restart blk0: 202")
    ok = wait_until(lambda: backend(a, "blk0").get("restarts") == 2 and
                    backend(a, "blk0").get("state") == "running", 30)
    c.check(ok, "device-restart blk0: restarts 2", str(backend(a, "blk0")))
    r = subprocess.run([ctl, "--socket", a["sock"], "restart", "net0"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    c.check(r.returncode == 1 and b"409" in r.stderr,
            "splitvm-ctl restart net0: 409, the switch is shared",
            r.stderr.decode())
    r = subprocess.run([ctl, "--socket", a["sock"], "devices"],
                       stdout=subprocess.PIPE, timeout=60)
    c.check(b"spawned: splitvm-blk pid" in r.stdout and
            b"2 restarts" in r.stdout, "splitvm-ctl devices shows pid and "
            "restarts", r.stdout.decode())

    # kill -9 of the shared switch: both supervisors bring it back.
    old_sw = net_a["pid"]
    os.kill(old_sw, signal.SIGKILL)
    ok = wait_until(lambda: all(backend(vm, "net0").get("restarts") == 1 and
                                backend(vm, "net0").get("pid") not in
                                (0, old_sw) for vm in (a, b)), 30)
    na, nb = backend(a, "net0"), backend(b, "net0")
    c.check(ok and na.get("pid") == nb.get("pid"),
            "kill -9 of the switch: one new switch, restarts 1 in both VMs",
            f"{na} {nb}")
    sw_dir = glob.glob(f"/run/splitvm/u*/net-{switch}")
    ports = sorted(os.path.basename(p) for p in
                   glob.glob(f"{sw_dir[0]}/vm*.sock")) if sw_dir else []
    c.equal(len(ports), 2, "the new switch has both VMs' ports again")

    # A ends: the switch lives on for B.
    stop(a["proc"])
    c.check(a["proc"].returncode == 128 + signal.SIGTERM,
            "VM A ends on SIGTERM", str(a["proc"].returncode))
    time.sleep(0.5)
    nb2 = backend(b, "net0")
    c.check(os.path.exists(f"/proc/{na.get('pid')}") and
            nb2.get("pid") == na.get("pid") and nb2.get("state") == "running",
            "the switch outlives VM A", f"{nb2}")
    ports = sorted(os.path.basename(p) for p in
                   glob.glob(f"{sw_dir[0]}/vm*.sock")) if sw_dir else []
    c.check(len(ports) == 1 and f"vm{b['proc'].pid}" in ports[0],
            "only B's port is left in the switch", str(ports))
    c.check(not glob.glob(f"/run/splitvm/u*/vm-{a['proc'].pid}"),
            "VM A's runtime directory is gone")
    stop(b["proc"])

    c.check(wait_until(lambda: proc_gone(na.get("pid")), 15),
            "the switch ends with its last VM")
    c.check(not glob.glob(f"/run/splitvm/u*/vm-{b['proc'].pid}") and
            not (sw_dir and os.path.exists(f"{sw_dir[0]}/control.sock")),
            "no sockets left behind")
    if c.failed:
        dump(a)
        dump(b)


try:
    main()
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    for d in glob.glob(f"/run/splitvm/u*/net-{switch}"):
        subprocess.run(["rm", "-rf", d])
    subprocess.run(["rm", "-rf", tmp])
c.finish()

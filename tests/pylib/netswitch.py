# SPDX-License-Identifier: GPL-2.0-only
"""A splitvm-net switch that splitvm started for --net switch=NAME: its
process, a VM's view of its port, its statistics, and the clean-up after
a test."""

import glob
import os
import subprocess
import threading
import time

import ctlapi
from svmtest import wait_until


def control_sockets(switch):
    return glob.glob(f"/run/splitvm/u*/net-{switch}/control.sock")


def is_switch_process(pid, switch):
    """pid is the splitvm-net serving switch (not a reused pid: a test
    must never kill anyone else's process)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return (os.path.basename(argv[0]) == b"splitvm-net" and
            any(a.endswith(f"/net-{switch}/control.sock".encode())
                for a in argv))


def device(sock, dev="net0"):
    """Device dev of vm.devices on the API socket sock, or {}."""
    status, d = ctlapi.get_json(sock, "/api/v1/vm.devices")
    if status != 200:
        return {}
    return next((x for x in d["devices"] if x["id"] == dev), {})


def stats(switch):
    """The switch's statistics ({"op":"stats"} on its control socket: its
    stdout is /dev/null), or None when it does not answer."""
    import netbe
    for path in control_sockets(switch):
        try:
            r = netbe.control(path, {"op": "stats"})
        except (OSError, ValueError):
            continue
        if r.get("ok"):
            return r["stats"]
    return None


def port_counts(st, socket):
    """The queues' counters summed for the port on socket, or None."""
    port = next((p for p in st["ports"] if p.get("socket") == socket), None)
    if port is None:
        return None
    total = {}
    for q in port["queues"]:
        for k, v in q.items():
            if isinstance(v, int) and k != "queue":
                total[k] = total.get(k, 0) + v
    return total


def clean_up(switch):
    """After the test's VMs are gone: a switch whose VMs were killed stops
    once their supervisors leave; then its directory goes."""
    wait_until(lambda: not control_sockets(switch), 15)
    for d in glob.glob(f"/run/splitvm/u*/net-{switch}"):
        subprocess.run(["rm", "-rf", d])


def _collect(stream, into, stamp):
    for raw in iter(stream.readline, b""):
        line = raw.decode(errors="replace").rstrip("\n")
        into.append((time.monotonic(), line) if stamp else line)


def start_vm(name, argv, sock, stdin=subprocess.DEVNULL, stamp=False):
    """A splitvm VM (argv, its API socket sock) whose stdout and stderr
    are collected as they come, line by line, in vm["out"] and vm["err"]
    ((time.monotonic(), line) pairs with stamp). stdin=subprocess.PIPE
    to type on its console ('q' ends a peer exchange)."""
    p = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    vm = {"name": name, "proc": p, "sock": sock, "out": [], "err": []}
    for stream, key in ((p.stdout, "out"), (p.stderr, "err")):
        threading.Thread(target=_collect, args=(stream, vm[key], stamp),
                         daemon=True).start()
    return vm


def vm_lines(vm, key="out"):
    """What start_vm collected, without the times of stamp."""
    return [x[1] if isinstance(x, tuple) else x for x in list(vm[key])]


def dump(vm, n=20):
    """A VM's last n lines of output and of errors, for a failure."""
    for key, mark in (("out", "|"), ("err", "!")):
        for line in vm_lines(vm, key)[-n:]:
            print(f"    {vm['name']} {mark} {line}")

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The quickstart demo: two VMs of the test guest on one splitvm-net
switch, the first with a disk on splitvm-blk; splitvm spawns, jails and
supervises both back-ends.  Once vm1's disk loop runs, the demo kills
splitvm-blk with SIGKILL: splitvm restarts it, reconnects and replays the
device, and the guest's write/read/verify loop carries on without an
error.  A progress line while they run, a summary at the end (frames,
I/O, throughput, restarts).

Why two VMs: the guest's frames are broadcasts, and a switch with one
port has nobody to deliver them to.  The second VM is the first one's
peer: each guest counts the frames the other sent it."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

build = sys.argv[1]
extra = sys.argv[2:]
splitvm = os.path.join(build, "core", "splitvm")
guest = os.path.join(build, "tests", "guest", "splitvm-guest.elf")
FRAMES = 4000
# The guest's loop runs N "ms" of TSC at 1 GHz: a few real seconds here.
LOOP_MS = 16000
TTY = sys.stdout.isatty()
switch = "demo"    # a well-known directory: kept, reused by the next run
tmp = tempfile.mkdtemp(prefix="splitvm-demo-")
if os.geteuid() == 0:
    os.chown(tmp, 65534, 65534)     # the core removes its socket as nobody
disk = os.path.join(tmp, "disk.img")
with open(disk, "wb") as f:
    f.truncate(64 << 20)
api = os.path.join(tmp, "vm1.sock")


def get(path, method="GET", body=b""):
    """One HTTP request on the control socket; the JSON reply or None."""
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(2)
        s.connect(api)
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\n"
                  f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                  .encode() + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        s.close()
        return json.loads(data.split(b"\r\n\r\n", 1)[1])
    except (OSError, ValueError, IndexError):
        return None


def start(name, args, cmdline):
    out = open(os.path.join(tmp, f"{name}.out"), "w+")
    err = open(os.path.join(tmp, f"{name}.err"), "w+")
    p = subprocess.Popen([splitvm, "--kernel", guest, "--memory", "128M"] +
                         args + ["--cmdline", cmdline] + extra,
                         stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    return p, out, err


def report(f):
    f.seek(0)
    return f.read()


print(f"demo: two VMs of the test guest on the splitvm-net switch '{switch}';"
      " vm1 also has a 64 MiB disk on splitvm-blk.")
print("demo: splitvm starts both back-ends itself, as an unprivileged user, "
      "without capabilities, under seccomp, and restarts them if they die.")


def progress(text, last=[0.0]):
    """One line rewritten in a terminal; a line every 2 s otherwise."""
    if TTY:
        print(f"\r{text}   ", end="", flush=True)
    elif time.monotonic() - last[0] >= 2:
        last[0] = time.monotonic()
        print(text, flush=True)


vm1, out1, err1 = start("vm1", ["--disk", f"path={disk}",
                                "--net", f"switch={switch},mac=52:54:00:00:00:01",
                                "--api-socket", api],
                        f"guest.ticks=1 guest.blk=1 guest.blk_loop_ms={LOOP_MS} "
                        "guest.blk_loop_timeout_ms=30000 "
                        f"guest.net={FRAMES} guest.net_expect=0 guest.exit=beat")
# vm2 once vm1's network test runs: each guest sends a window of frames,
# then more only as frames come in; vm2's first window then reaches vm1.
killed = None           # (pid, time) of the splitvm-blk the demo killed
loop_start = loop_end = None


def watch_disk(text, devs):
    """Note when vm1's disk loop starts and ends; a second into it, kill
    its splitvm-blk (SIGKILL) once."""
    global killed, loop_start, loop_end
    now = time.monotonic()
    if loop_start is None and "blk loop started" in text:
        loop_start = now
    if loop_end is None and re.search(r"blk \S+ loop (rounds|stopped)", text):
        loop_end = now
    pid = ((devs.get("blk0") or {}).get("backend") or {}).get("pid")
    if killed is None and loop_start and loop_end is None and \
            now - loop_start > 1 and pid:
        os.kill(pid, signal.SIGKILL)
        killed = (pid, now)
        if TTY:
            print()
        print(f"demo: {now - t0:5.1f} s  kill -9 splitvm-blk (pid {pid}) "
              "in the middle of vm1's disk loop")


t0 = time.monotonic()
while vm1.poll() is None and time.monotonic() - t0 < 60 and \
        not re.search(r"guest: net \S+ features=", report(out1)):
    d = get("/api/v1/vm.devices")
    devs0 = {x["id"]: x for x in d["devices"]} if d else {}
    text = report(out1)
    watch_disk(text, devs0)
    blk = devs0.get("blk0") or {}
    phase = "disk loop" if loop_start else "disk test" if "guest: blk" in text else "booting"
    progress(f"demo: {time.monotonic() - t0:5.1f} s  vm1 {phase}, blk0 "
             f"{blk.get('backend_state', '?')}, reconnects {blk.get('restarts', 0)}")
    time.sleep(0.2)
if TTY:
    print()
vm2, out2, err2 = start("vm2", ["--net", f"switch={switch},mac=52:54:00:00:00:02"],
                        f"guest.ticks=1 guest.net={FRAMES} guest.net_expect=0")
devs = {}
shown = False
try:
    while vm1.poll() is None and time.monotonic() - t0 < 120:
        time.sleep(0.5)
        d = get("/api/v1/vm.devices")
        if d:
            devs = {x["id"]: x for x in d["devices"]}
        if devs and not shown:
            shown = True
            if TTY:
                print("\r", end="")
            for x in devs.values():
                be = x.get("backend") or {}
                try:
                    st = open(f"/proc/{be.get('pid')}/status").read()
                    f = dict(l.split(":\t", 1) for l in st.splitlines()
                             if ":\t" in l)
                    jail = (f"uid {f['Uid'].split()[0]}, CapEff "
                            f"{int(f['CapEff'], 16)}, NoNewPrivs "
                            f"{f['NoNewPrivs']}, Seccomp {f['Seccomp']}")
                except (OSError, KeyError, ValueError):
                    jail = "(not readable)"
                print(f"demo: {x['id']}: {be.get('program')} pid "
                      f"{be.get('pid')}: {jail}")
        text = report(out1)
        now = time.monotonic()
        watch_disk(text, devs)
        phase = ("done" if "result=" in text else
                 "network" if "guest: net " in text else
                 "disk" if "guest: blk" in text else "booting")
        info = get("/api/v1/vm.info") or {}
        blk = devs.get("blk0") or {}
        progress(f"demo: {now - t0:5.1f} s  vm1 {info.get('state', '?')}"
                 f" ({phase})  vm2 {'running' if vm2.poll() is None else 'done'}"
                 f"  blk0 {blk.get('backend_state', '?')}, reconnects "
                 f"{blk.get('restarts', 0)}")
        if "result=" in text and vm2.poll() is not None:
            break
    if TTY:
        print()
    get("/api/v1/vm.shutdown", "POST")
    vm1.wait(timeout=30)
finally:
    for p in (vm1, vm2):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)

elapsed = time.monotonic() - t0
ok = True
for name, f in (("vm1", out1), ("vm2", out2)):
    text = report(f)
    m = re.search(r"net \S+ mac=\S+ sent=(\d+) received=(\d+)", text)
    r = re.search(r"net \S+ rate frames=\d+ elapsed_ns=(\d+)", text)
    res = re.search(r"result=(\w+)", text)
    ok &= bool(res and res.group(1) == "PASS")
    if m:
        # Not a link rate: each guest's window waits on the other guest,
        # and vm1 runs its disk test first.
        secs = int(r.group(1)) / 1e9 if r else 0
        print(f"summary: {name}: sent {m.group(1)} frames, received "
              f"{m.group(2)} of the other VM's in {secs:.1f} s of network "
              f"test; guest {res.group(1) if res else 'no result'}")
    else:
        print(f"summary: {name}: no network report (see {f.name})")
text = report(out1)
b = re.search(r"blk \S+ capacity=(\d+) .*verified=(\d+) flush=(\w+)", text)
loop = re.search(r"blk \S+ loop rounds=(\d+) ok resets=(\d+)", text)
if b:
    print(f"summary: vm1 disk: {int(b.group(1)) * 512 >> 20} MiB, "
          f"{b.group(2)} blocks written and verified, flush {b.group(3)}")
if loop:
    n = int(loop.group(1))
    secs = (loop_end - loop_start) if loop_start and loop_end else 0
    print(f"summary: vm1 disk loop: {n} rounds of 4 KiB write + read + "
          f"verify, every one verified, in about {secs:.1f} s "
          f"(one request at a time; the back-end's restart included); "
          f"device resets seen by the guest: {loop.group(2)}")
else:
    ok = False
    print("summary: vm1 disk loop: no result (see the guest's output)")
if killed:
    print(f"summary: splitvm-blk pid {killed[0]} was killed with SIGKILL "
          f"{killed[1] - loop_start:.1f} s into the loop; splitvm restarted "
          "it and reconnected, and the guest did not notice")
print("summary: frames the switch could not deliver (a guest not yet "
      "receiving) are dropped, as on a real switch")
print("summary: back-end process restarts: " + ", ".join(
    f"{k} {(v.get('backend') or {}).get('restarts', 0)}"
    for k, v in sorted(devs.items())) + "; device reconnects: " + ", ".join(
    f"{k} {v.get('restarts', 0)}" for k, v in sorted(devs.items())) +
    f"; {elapsed:.1f} s in all")
if ok:
    subprocess.run(["rm", "-rf", tmp])
else:
    print(f"demo: FAILED; the VMs' output and logs are in {tmp}")
sys.exit(0 if ok else 1)

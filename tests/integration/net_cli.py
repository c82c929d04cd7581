#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-net's process conventions, no frontend needed: --help and
--print-capabilities (vhost-user back-end program conventions), bad
command lines (exit 2), refusing root without --allow-root, a stale
server socket removed while a live one is left alone, and --fd: a
listening socket inherited from a manager, whose path splitvm-net takes
over and serves."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import svmtest  # noqa: E402
import vu_front  # noqa: E402

exe = sys.argv[1]
c = svmtest.Checker("net_cli")


def run(args, **kw):
    return subprocess.run([exe] + args, capture_output=True, text=True,
                          timeout=60, **kw)


def as_nobody():
    return netbe.drop_to_nobody if os.geteuid() == 0 else None


r = run(["--help"])
c.equal(r.returncode, 0, "--help exits 0")
for opt in ["--port", "--socket-path", "--fd", "--print-capabilities",
            "--mode", "--busy-poll", "--allow-root", "--stats-format",
            "--offload", "offload=off", "SIGUSR1", "vlan=N", "trunk=LIST",
            "native=N"]:
    c.check(opt in r.stdout, f"--help mentions {opt}")

r = run(["--print-capabilities"])
c.equal(r.returncode, 0, "--print-capabilities exits 0")
try:
    caps = json.loads(r.stdout)
except ValueError:
    caps = None
c.equal(caps, {"type": "net"}, "--print-capabilities prints the type as JSON")

for bad in [[], ["--port", "/tmp/x", "--mode", "xconnect"],
            ["--port", "/tmp/x", "--bogus"], ["--port", "/tmp/x,what"],
            ["--port", "/tmp/x", "--mac-age", "soon"],
            ["--port", "/tmp/x,vlan=4095"], ["--port", "/tmp/x,trunk=5:5"],
            ["--port", "/tmp/x,vlan=5,trunk=6"], ["--port", "/tmp/x,native=5"],
            ["--uplink", "net_ring0,trunk=0"]]:
    r = run(bad)
    c.equal(r.returncode, 2, f"exit 2 for {' '.join(bad) or 'no ports'}")
    c.check("error" in r.stderr, "  ... with an error message", r.stderr)
    c.equal(len([x for x in r.stderr.splitlines() if "error" in x]), 1,
            "  ... on one line")

with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    if os.geteuid() == 0:
        r = run(["--port", os.path.join(tmp, "root.sock")])
        c.equal(r.returncode, 2, "as root without --allow-root: exit 2")
        c.check("refusing to run as root" in r.stderr, "  ... saying why",
                r.stderr)
        c.check(not os.path.exists(os.path.join(tmp, "root.sock")),
                "  ... before creating a socket")

    # A socket file nobody listens on (its owner died) is replaced.
    stale = os.path.join(tmp, "stale.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(stale)
    s.close()
    if os.geteuid() == 0:
        os.chown(stale, netbe.NOBODY, netbe.NOBODY)
    # A socket someone listens on is not taken away.
    live = os.path.join(tmp, "live.sock")
    ls = socket.socket(socket.AF_UNIX)
    ls.bind(live)
    ls.listen(1)
    os.chmod(live, 0o777)
    r = run(["--port", stale, "--port", live], preexec_fn=as_nobody())
    c.equal(r.returncode, 1, "a live socket at a port's path: exit 1")
    c.check("another process listens there" in r.stderr, "  ... saying why",
            r.stderr)
    ls.close()

    sw = netbe.SplitvmNet(exe, ["--port", stale])
    c.check(sw.wait_log("listening on " + stale),
            "a stale socket is replaced")
    conn = socket.socket(socket.AF_UNIX)
    c.check(conn.connect_ex(stale) == 0, "  ... and the new one accepts")
    conn.close()
    status, final = sw.stop()
    c.equal(status, 0, "  ... exit 0 on SIGTERM")

    # --fd: the manager binds and listens, splitvm-net inherits fd 3.
    managed = os.path.join(tmp, "managed.sock")
    ms = socket.socket(socket.AF_UNIX)
    ms.bind(managed)
    ms.listen(4)
    sw = netbe.SplitvmNet(exe, ["--fd", "3"], inherit_fd=(ms.fileno(), 3))
    ms.close()
    c.check(sw.wait_log(f"listening on {managed}"),
            "--fd: splitvm-net takes over the inherited socket's path")
    probe = socket.socket(socket.AF_UNIX)
    c.check(probe.connect_ex(managed) == 0, "  ... and accepts there")
    probe.close()
    status, final = sw.stop()
    c.equal(status, 0, "  ... exit 0 on SIGTERM")
    c.check(not os.path.exists(managed), "  ... socket removed on exit")
    if c.failed:
        sw.dump()

    # SIGTERM while DPDK and the ports are still starting: it must not be
    # lost (killed by it before the handler exists is fine too).
    for delay in (0.05, 0.2, 0.4):
        sock = os.path.join(tmp, f"early{delay}.sock")
        sw = netbe.SplitvmNet(exe, ["--port", sock])
        time.sleep(delay)
        sw.proc.send_signal(signal.SIGTERM)
        status = sw.wait(30)
        if status is None:
            sw.threads()
            sw.kill()
            status = "still running after 30 s"
        c.check(status in (0, -signal.SIGTERM),
                f"SIGTERM {delay} s after start ends splitvm-net", status)
        # Killed before its handler existed, EAL could not clean up.
        for d in netbe.runtime_dirs(f"splitvm-net-{sw.proc.pid}"):
            shutil.rmtree(d, ignore_errors=True)

    # A message librte_vhost refuses makes DPDK log an error line; its
    # default log stream also calls syslog(), which opens a file the
    # seccomp filter refuses: the process must survive its own log line.
    sock = os.path.join(tmp, "logged.sock")
    sw = netbe.SplitvmNet(exe, ["--port", sock, "--seccomp", "kill"])
    c.check(netbe.open_sockets(sw.proc, [sock]), "splitvm-net listens")
    end = time.monotonic() + 30
    while (netbe.proc_status(sw.proc.pid).get("Seccomp") != "2" and
           time.monotonic() < end and sw.proc.poll() is None):
        time.sleep(0.05)
    c.equal(netbe.proc_status(sw.proc.pid).get("Seccomp"), "2",
            "  ... under its seccomp filter")
    vu = vu_front.VhostUser(sock)
    vu.send(200, b"")                 # no such request
    try:
        vu.recv(200)
        answered = True
    except (EOFError, OSError, ValueError):
        answered = False
    c.check(not answered, "  ... an unknown request is refused")
    vu.close()
    time.sleep(0.5)
    c.check(sw.proc.poll() is None and sw.stats() is not None,
            "  ... and splitvm-net lives on after DPDK's error line",
            sw.proc.returncode)
    status, _ = sw.stop()
    c.equal(status, 0, "  ... exit 0 on SIGTERM")

    r = run(["--fd", "0"], preexec_fn=as_nobody(), stdin=subprocess.DEVNULL)
    c.equal(r.returncode, 1, "--fd on something not a listening socket: exit 1")
    c.check("--fd 0" in r.stderr, "  ... naming the fd", r.stderr)

c.finish()

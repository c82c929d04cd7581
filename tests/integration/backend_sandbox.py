#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-blk and splitvm-net sandbox themselves once serving: every
thread (also those created later, like blk's queue threads) shows
Seccomp 2, NoNewPrivs 1 and no capabilities in /proc; as root with
--allow-root the bounding set is empty too.  Through the test hook
SPLITVM_TEST_BACKEND_PROBE each back-end then tries what its sandbox
must refuse: open("/dev/kvm"), open of an unrelated file and
socket(AF_INET) kill it with SIGSYS; ftruncate of the guest memfd it
received kills splitvm-net with SIGSYS and fails with EPERM in
splitvm-blk (which needs ftruncate for librte_vhost's inflight memfd;
the guest memfd is sealed against shrinking, as the core seals it).

usage: backend_sandbox.py SPLITVM_BLK SPLITVM_NET"""

import fcntl
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import splitvm_blk  # noqa: E402
import svmtest  # noqa: E402
import vu_front  # noqa: E402
from vu_front import (AVAIL, DESC, RING_STRIDE, UADDR, USED)  # noqa: E402

PROBE = "SPLITVM_TEST_BACKEND_PROBE"
MEM = 1 << 20
c = svmtest.Checker("backend_sandbox")


def thread_status(pid):
    """{tid: (comm, /proc status dict)} for every thread of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
            out[tid] = (comm, netbe.proc_status(f"{pid}/task/{tid}"))
        except FileNotFoundError:
            pass        # a thread that just ended
    return out


def check_jailed(name, pid, bounding):
    threads = thread_status(pid)
    c.check(len(threads) >= 2, f"{name}: several threads to check",
            str(len(threads)))
    for tid, (comm, st) in sorted(threads.items()):
        bad = [k for k in ("CapEff", "CapPrm", "CapAmb")
               if int(st[k], 16) != 0]
        if bounding and int(st["CapBnd"], 16) != 0:
            bad.append("CapBnd")
        if st["NoNewPrivs"] != "1":
            bad.append("NoNewPrivs")
        if st["Seccomp"] != "2":
            bad.append("Seccomp")
        c.check(not bad, f"{name}: thread {tid} ({comm}) is sandboxed",
                " ".join(f"{k}={st.get(k)}" for k in bad))
    return threads


def sealed_memfd():
    """Guest RAM as the core makes it: a memfd that cannot shrink."""
    fd = os.memfd_create("guest-ram", os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, MEM)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK |
                fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    return fd


def net_front(path, memfd):
    """A frontend on a splitvm-net port: memory table and both rings
    set up, without protocol features (rings start enabled with their
    kick), so librte_vhost reports the device to splitvm-net."""
    v = vu_front.VhostUser(path)
    v.get_u64(vu_front.GET_FEATURES)
    v.set_u64(vu_front.SET_FEATURES, vu_front.F_VERSION_1)
    v.send(vu_front.SET_OWNER)
    v.send(vu_front.SET_MEM_TABLE, vu_front.mem_table([(0, MEM, 0)]),
           fds=[memfd])
    fds = []
    for i in range(2):
        off = RING_STRIDE * i
        kick, call = os.eventfd(0, os.EFD_NONBLOCK), os.eventfd(0, os.EFD_NONBLOCK)
        fds += [kick, call]
        v.send(vu_front.SET_VRING_NUM, struct.pack("<II", i, 64))
        v.send(vu_front.SET_VRING_ADDR, struct.pack(
            "<IIQQQQ", i, 0, UADDR + off + DESC, UADDR + off + USED,
            UADDR + off + AVAIL, 0))
        v.send(vu_front.SET_VRING_BASE, struct.pack("<II", i, 0))
        v.send(vu_front.SET_VRING_CALL, struct.pack("<Q", i), fds=[call])
        v.send(vu_front.SET_VRING_KICK, struct.pack("<Q", i), fds=[kick])
    return v, fds


def wait_exit(proc, timeout=20):
    try:
        return proc.wait(timeout=timeout)
    except Exception:
        return None


def with_probe(value):
    if value:
        os.environ[PROBE] = value
    else:
        os.environ.pop(PROBE, None)


# ---- splitvm-blk -------------------------------------------------------

def blk_status(exe, tmp, img):
    be = splitvm_blk.Backend(exe, tmp, img, name="blk-status")
    try:
        c.check(be.running() and os.path.exists(be.sock),
                "splitvm-blk is serving")
        before = thread_status(be.pid)
        # A queue thread is created when the ring starts: after the filter.
        q = vu_front.BlkQueue(be.sock)
        used, st, _ = q.request(0, 0, data_len=512)      # T_IN
        c.check(used is not None and st == 0, "splitvm-blk serves a read")
        after = check_jailed("splitvm-blk", be.pid, bounding=False)
        c.check(len(after) > len(before),
                "splitvm-blk: threads created after the sandbox are checked too",
                f"{len(before)} -> {len(after)}")
        c.check(be.status()["Uid"].split()[0] != "0", "splitvm-blk: uid is not 0")
        q.close()
    finally:
        status, log = be.stop()
    c.equal(status, 0, "splitvm-blk exits 0 on SIGTERM, sandboxed")
    c.check("seccomp kill" in log, "splitvm-blk logs seccomp kill mode")


def blk_root(exe, tmp, img):
    """Root with --allow-root: the bounding set is cleared as well."""
    if os.geteuid() != 0:
        c.check(True, "not root: --allow-root bounding-set check left out")
        return
    sock = os.path.join(tmp, "root-blk.sock")
    logf = open(os.path.join(tmp, "root-blk.log"), "w+")
    proc = subprocess.Popen([exe, "--socket-path", sock, "--blk-file", img,
                             "--allow-root"], stdout=logf, stderr=logf)
    try:
        for _ in range(100):
            if os.path.exists(sock) or proc.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(0.3)
        c.check(proc.poll() is None, "splitvm-blk --allow-root runs as root")
        check_jailed("splitvm-blk as root", proc.pid, bounding=True)
    finally:
        proc.terminate()
        c.equal(wait_exit(proc), 0, "splitvm-blk as root exits 0")
        logf.close()


def blk_probe(exe, tmp, img, probe, want_sigsys):
    with_probe(probe)
    try:
        be = splitvm_blk.Backend(exe, tmp, img, name=f"blk-probe-{probe}")
    finally:
        with_probe(None)
    try:
        memfd = None
        if probe == "memfd":
            memfd = sealed_memfd()
            v = vu_front.VhostUser(be.sock)
            v.get_u64(vu_front.GET_FEATURES)
            v.set_u64(vu_front.SET_FEATURES, vu_front.F_VERSION_1)
            v.send(vu_front.SET_OWNER)
            v.send(vu_front.SET_MEM_TABLE, vu_front.mem_table([(0, MEM, 0)]),
                   fds=[memfd])
            v.get_u64(vu_front.GET_FEATURES)     # SET_MEM_TABLE was handled
        if want_sigsys:
            rc = wait_exit(be.proc)
            c.equal(rc, -signal.SIGSYS, f"splitvm-blk probe {probe}: killed by SIGSYS")
        else:
            time.sleep(0.3)
            c.check(be.running(), f"splitvm-blk probe {probe}: still running")
        if memfd is not None:
            c.equal(os.fstat(memfd).st_size, MEM,
                    "splitvm-blk probe memfd: guest RAM kept its size")
    finally:
        status, log = be.stop()
    c.check("test probe" in log, f"splitvm-blk probe {probe}: the probe ran",
            log[-300:])
    c.check("succeeded" not in log, f"splitvm-blk probe {probe}: it did not succeed",
            log[-300:])
    if not want_sigsys:
        c.check("failed: Operation not permitted" in log,
                f"splitvm-blk probe {probe}: fails with EPERM", log[-300:])


def blk_modes(exe, tmp, img):
    """--seccomp=log lets the probe through (the kernel logs it); a bad
    value is a usage error."""
    r = subprocess.run([exe, "--socket-path", os.path.join(tmp, "x.sock"),
                        "--blk-file", img, "--seccomp=allow"],
                       capture_output=True, text=True, timeout=30)
    c.equal(r.returncode, 2, "splitvm-blk --seccomp=allow: usage error")
    with_probe("inet")
    try:
        be = splitvm_blk.Backend(exe, tmp, img, args=["--seccomp=log"],
                                 name="blk-log")
    finally:
        with_probe(None)
    try:
        time.sleep(0.5)
        c.check(be.running(), "splitvm-blk --seccomp=log: the probe does not kill")
    finally:
        status, log = be.stop()
    c.check("socket(AF_INET) succeeded" in log,
            "splitvm-blk --seccomp=log: socket(AF_INET) went through", log[-300:])
    c.equal(status, 0, "splitvm-blk --seccomp=log exits 0")


# ---- splitvm-net -------------------------------------------------------

def net_args(tmp, name, owner=netbe.NOBODY):
    """owner: who may create the sockets (root without capabilities
    cannot write to nobody's directory)."""
    run = os.path.join(tmp, f"run-{name}")
    os.makedirs(run, exist_ok=True)
    os.chown(run, owner, owner)
    socks = [os.path.join(run, f"p{i}.sock") for i in range(2)]
    return socks, ["--port", socks[0], "--port", socks[1],
                   "--memory", "128"]


def wait_socks(net, socks):
    for _ in range(200):
        if all(os.path.exists(s) for s in socks) or net.proc.poll() is not None:
            break
        time.sleep(0.1)


def net_status(exe, tmp):
    socks, args = net_args(tmp, "net-status")
    net = netbe.SplitvmNet(exe, args)
    try:
        wait_socks(net, socks)
        c.check(net.wait_log("seccomp kill"), "splitvm-net logs seccomp kill mode",
                "".join(net.stderr[-5:]))
        memfd = sealed_memfd()
        v, _ = net_front(socks[0], memfd)
        c.check(net.wait_log("frontend connected"),
                "splitvm-net: a frontend connects under the sandbox")
        check_jailed("splitvm-net", net.proc.pid, bounding=False)
        c.check(netbe.proc_status(net.proc.pid)["Uid"].split()[0] != "0",
                "splitvm-net: uid is not 0")
        st = net.stats()
        c.check(st is not None, "splitvm-net prints statistics under the sandbox")
        v.close()
    finally:
        net.proc.terminate()
        rc = wait_exit(net.proc)
    c.equal(rc, 0, "splitvm-net exits 0 on SIGTERM, sandboxed")


def net_root(exe, tmp):
    if os.geteuid() != 0:
        c.check(True, "not root: --allow-root bounding-set check left out")
        return
    socks, args = net_args(tmp, "net-root", owner=0)
    net = netbe.SplitvmNet(exe, args + ["--allow-root"], unprivileged=False)
    try:
        wait_socks(net, socks)
        if not c.check(net.wait_log("seccomp kill"),
                       "splitvm-net --allow-root is serving",
                       "".join(net.stderr[-5:])):
            return
        check_jailed("splitvm-net as root", net.proc.pid, bounding=True)
    finally:
        net.proc.terminate()
        c.equal(wait_exit(net.proc), 0, "splitvm-net as root exits 0")


def net_probe(exe, tmp, probe):
    socks, args = net_args(tmp, f"net-probe-{probe}")
    with_probe(probe)
    try:
        net = netbe.SplitvmNet(exe, args)
    finally:
        with_probe(None)
    memfd = None
    try:
        wait_socks(net, socks)
        if probe == "memfd":
            memfd = sealed_memfd()
            try:
                net_front(socks[0], memfd)
            except OSError:
                pass        # killed while we were still talking
        rc = wait_exit(net.proc)
    finally:
        if net.proc.poll() is None:
            net.proc.kill()
            net.proc.wait()
    c.equal(rc, -signal.SIGSYS, f"splitvm-net probe {probe}: killed by SIGSYS")
    log = "".join(net.stderr)
    c.check("test probe" in log, f"splitvm-net probe {probe}: the probe ran",
            log[-300:])
    c.check("succeeded" not in log, f"splitvm-net probe {probe}: it did not succeed")
    if memfd is not None:
        c.equal(os.fstat(memfd).st_size, MEM,
                "splitvm-net probe memfd: guest RAM kept its size")
    for d in netbe.runtime_dirs(f"splitvm-net-{net.proc.pid}*"):
        try:
            os.rmdir(d)
        except OSError:
            pass


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    blk_exe, net_exe = sys.argv[1:]
    splitvm_blk.require(blk_exe)
    if not os.path.exists(net_exe):
        svmtest.skip("splitvm-net was not built")
    if os.geteuid() != 0:
        svmtest.skip("needs root to start the back-ends as uid 65534")
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        img = os.path.join(tmp, "disk.img")
        with open(img, "wb") as f:
            f.truncate(1 << 20)
        blk_status(blk_exe, tmp, img)
        blk_root(blk_exe, tmp, img)
        for probe in ("kvm", "file", "inet"):
            blk_probe(blk_exe, tmp, img, probe, want_sigsys=True)
        blk_probe(blk_exe, tmp, img, "memfd", want_sigsys=False)
        blk_modes(blk_exe, tmp, img)
        net_status(net_exe, tmp)
        net_root(net_exe, tmp)
        for probe in ("kvm", "file", "inet", "memfd"):
            net_probe(net_exe, tmp, probe)
    c.finish()


main()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The control API against a running guest, with curl and splitvm-ctl:
info matches the command line; pause stops the vCPUs' exits and the
guest's beat lines, resume starts them again; counters, devices and
OpenMetrics metrics; malformed, oversized and slow requests get errors
(or a closed connection) while the API keeps serving others; shutdown
ends splitvm with status 0 and removes the socket; a live socket is
refused and a stale one replaced."""

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import ctlapi  # noqa: E402
import svmtest  # noqa: E402
from svmtest import wait_until  # noqa: E402

splitvm, ctl, guest = sys.argv[1:4]
svmtest.require_kvm()
if not ctlapi.have_curl():
    svmtest.skip("curl is not installed (contrib/quickstart installs it)")
c = svmtest.Checker("control_api")
tmp = tempfile.mkdtemp(prefix="splitvm-api-")
# As root, splitvm becomes nobody once the VM is built and can remove its
# socket at exit only from a directory nobody may write: the documented
# deployment (docs/splitvm.md, --api-socket).
if os.geteuid() == 0:
    os.chown(tmp, 65534, 65534)
sock = os.path.join(tmp, "api.sock")
CMDLINE = "guest.ticks=1 guest.exit=beat api-test"
MEM = 192 << 20


class Vm:
    """splitvm in the background, stdout and stderr in files."""

    def __init__(self, sock_path, cmdline=CMDLINE, cpus=2):
        self.out_path = os.path.join(tmp, f"out-{time.monotonic_ns()}")
        self.err_path = self.out_path + ".err"
        self.argv = [splitvm, "--kernel", guest, "--cpus", str(cpus),
                     "--memory", f"{MEM >> 20}M", "--cmdline", cmdline,
                     "--api-socket", sock_path]
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL,
            stdout=open(self.out_path, "wb"), stderr=open(self.err_path, "wb"))

    def stdout(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def beats(self):
        return self.stdout().count("guest: beat n=")

    def wait(self, timeout=60):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def dump(self):
        print("    $ " + " ".join(self.argv))
        for line in self.stdout().splitlines()[-20:]:
            print("    | " + line)
        for line in self.stderr().splitlines()[-20:]:
            print("    ! " + line)


def ctl_run(*args):
    r = subprocess.run([ctl, "--socket", sock] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def exits_per_vcpu():
    status, d = ctlapi.get_json(sock, "/api/v1/vm.counters")
    if status != 200 or not d:
        return None
    return [v["exits_total"] for v in d["vcpus"]]



def info_state():
    status, d = ctlapi.get_json(sock, "/api/v1/vm.info")
    return d["state"] if status == 200 and d else None


vm = Vm(sock)
try:
    if not c.check(ctlapi.wait_for_socket(sock, vm.proc),
                   "the API answers on --api-socket"):
        vm.dump()
        c.finish()

    st = os.stat(sock)
    c.check(stat.S_ISSOCK(st.st_mode), "the API socket is a unix socket")
    c.equal(st.st_mode & 0o777, 0o600, "socket mode 0600")

    # ---- info: fields match the command line ------------------------------
    status, info = ctlapi.get_json(sock, "/api/v1/vm.info")
    c.equal(status, 200, "curl GET vm.info: 200")
    c.equal(info.get("vcpus"), 2, "info vcpus = --cpus")
    c.equal(info.get("memory_bytes"), MEM, "info memory_bytes = --memory")
    c.equal(info.get("kernel"), guest, "info kernel = --kernel")
    c.equal(info.get("cmdline"), CMDLINE, "info cmdline = --cmdline")
    c.equal(info.get("initrd"), None, "info initrd null without --initrd")
    c.equal(info.get("state"), "running", "info state running")
    c.equal(info.get("exit"), None, "info exit null while running")
    c.check(isinstance(info.get("uptime_s"), float) and info["uptime_s"] >= 0,
            "info uptime_s is a number", str(info.get("uptime_s")))
    rc, out, err = ctl_run("info")
    c.equal(rc, 0, "splitvm-ctl info: exit 0")
    c.check("vcpus     2" in out and CMDLINE in out and "running" in out,
            "splitvm-ctl info: human output with vcpus, cmdline, state", out)
    rc, out, err = ctl_run("--json", "info")
    c.check(rc == 0 and json.loads(out).get("vcpus") == 2,
            "splitvm-ctl --json info: the raw JSON", out)

    # ---- the guest runs: exits and beats move -----------------------------
    c.check(wait_until(lambda: vm.beats() >= 3, timeout=60),
            "the guest beats (guest.exit=beat)")
    e0 = exits_per_vcpu()
    c.check(wait_until(lambda: exits_per_vcpu()[0] > e0[0]),
            "vCPU 0 exit counter increases while running")

    # ---- pause: counters and beats stop ------------------------------------
    status, headers, body = ctlapi.curl(sock, "PUT", "/api/v1/vm.pause")
    c.equal(status, 200, "curl PUT vm.pause: 200")
    c.equal(json.loads(body).get("state"), "paused", "pause reply says paused")
    c.equal(info_state(), "paused", "info state paused")
    e1, b1 = exits_per_vcpu(), vm.beats()
    time.sleep(2)
    e2, b2 = exits_per_vcpu(), vm.beats()
    c.equal(e2, e1, "paused: no vCPU exits for 2 s")
    c.equal(b2, b1, "paused: no guest beats for 2 s")
    status, d = ctlapi.get_json(sock, "/api/v1/vm.counters")
    c.check(all(v["parked"] for v in d["vcpus"]), "counters: every vCPU parked")
    status, _, body = ctlapi.curl(sock, "PUT", "/api/v1/vm.pause")
    c.equal(status, 409, "pause while paused: 409")
    rc, out, err = ctl_run("pause")
    c.check(rc == 1 and "409" in err and "paused already" in err,
            "splitvm-ctl pause while paused: exit 1, says why", err)

    # ---- resume: they move again --------------------------------------------
    rc, out, err = ctl_run("resume")
    c.check(rc == 0 and out.strip() == "running", "splitvm-ctl resume", out + err)
    c.equal(info_state(), "running", "info state running after resume")
    c.check(wait_until(lambda: exits_per_vcpu()[0] > e2[0]),
            "resumed: vCPU 0 exits increase again")
    c.check(wait_until(lambda: vm.beats() > b2), "resumed: the guest beats again")
    status, _, _ = ctlapi.curl(sock, "POST", "/api/v1/vm.resume")
    c.equal(status, 409, "resume while running: 409")

    # splitvm-ctl pause, curl POST resume
    rc, out, err = ctl_run("pause")
    c.check(rc == 0 and out.strip() == "paused", "splitvm-ctl pause", out + err)
    e3 = exits_per_vcpu()
    time.sleep(1)
    c.equal(exits_per_vcpu(), e3, "paused by splitvm-ctl: exits stay")
    status, _, _ = ctlapi.curl(sock, "POST", "/api/v1/vm.resume")
    c.equal(status, 200, "curl POST vm.resume: 200")
    c.check(wait_until(lambda: exits_per_vcpu()[0] > e3[0]),
            "resumed by curl: exits increase")

    # ---- counters, devices ----------------------------------------------------
    status, d = ctlapi.get_json(sock, "/api/v1/vm.counters")
    c.equal(status, 200, "GET vm.counters: 200")
    c.check(d["pio_exits"] > 0 and d["pio_exits"] == sum(
        v["exits"]["io"] for v in d["vcpus"]),
        "counters: pio_exits is the sum of per-vCPU io exits")
    c.equal(len(d["vcpus"]), 2, "counters: one entry per vCPU")
    rc, out, err = ctl_run("counters")
    c.check(rc == 0 and "vcpu0  exits" in out and "io=" in out,
            "splitvm-ctl counters: human output", out + err)
    status, d = ctlapi.get_json(sock, "/api/v1/vm.devices")
    c.check(status == 200 and d == {"devices": []},
            "GET vm.devices: none without --disk/--net", str(d))
    rc, out, err = ctl_run("devices")
    c.check(rc == 0 and "no devices" in out, "splitvm-ctl devices", out + err)
    status, _, body = ctlapi.curl(sock, "PUT", "/api/v1/vm.device-restart",
                                  body='{"id": "blk0"}')
    c.equal(status, 404, "device-restart of an unknown device: 404")

    # ---- metrics ---------------------------------------------------------------
    status, headers, text = ctlapi.curl(sock, "GET", "/metrics")
    c.equal(status, 200, "curl GET /metrics: 200")
    c.check(headers.get("content-type", "").startswith(
        "application/openmetrics-text"), "metrics content type",
        headers.get("content-type"))
    problems, fams = ctlapi.check_openmetrics(text)
    c.check(not problems, "metrics parse as OpenMetrics", "; ".join(problems[:5]))
    exits = [s for s in fams.get("splitvm_vcpu_exits", [])
             if 'reason="io"' in s]
    c.equal(len(exits), 2, "metrics: io exits of both vCPUs")
    c.check(any(s.startswith('splitvm_vcpu_exits_total{vcpu="0",reason="io"} ')
                and int(s.split()[-1]) > 0 for s in exits),
            "metrics: vCPU 0 io exits > 0", str(exits))
    c.check("splitvm_vm_vcpus 2" in fams.get("splitvm_vm_vcpus", []),
            "metrics: splitvm_vm_vcpus 2")
    rc, out, err = ctl_run("metrics")
    p2, f2 = ctlapi.check_openmetrics(out)
    c.check(rc == 0 and not p2 and set(f2) == set(fams),
            "splitvm-ctl metrics: same families, valid", "; ".join(p2[:3]))

    # ---- malformed and oversized requests --------------------------------
    raw = ctlapi.raw_request(sock, b"\x00\xff\xfegarbage\r\n\r\n")
    status, _, _ = ctlapi.parse_response(raw)
    c.check(status is None or 400 <= status < 500,
            "garbage bytes: a 4xx or a closed connection", repr(raw[:80]))
    status, _, body = ctlapi.curl(sock, "PUT", "/api/v1/vm.pause", body="{bad")
    c.equal(status, 400, "bad JSON: 400")
    c.check("malformed JSON" in body, "bad JSON: the error says so", body)
    status, _, body = ctlapi.curl(sock, "PUT", "/api/v1/vm.pause",
                                  body='{"now": true}')
    c.equal(status, 400, "unknown member: 400")
    big = os.path.join(tmp, "big")
    with open(big, "wb") as f:
        f.write(b"{" + b" " * (1 << 20) + b"}")
    status, headers, body = ctlapi.curl(sock, "PUT", "/api/v1/vm.pause",
                                        data_file=big)
    c.equal(status, 413, "1 MiB body: 413")
    # No Content-Length: the reply comes as soon as the body passes the
    # limit and the connection is closed (curl stops at its send error,
    # so this one is sent by hand).
    raw = ctlapi.raw_chunked_upload(sock, "/api/v1/vm.pause", 1 << 20)
    status, _, body = ctlapi.parse_response(raw)
    c.equal(status, 413, "1 MiB chunked body (no Content-Length): 413")
    raw = ctlapi.raw_chunked_upload(sock, "/api/v1/vm.pause", 8 << 20)
    c.equal(raw, b"", "8 MiB chunked body: connection closed, no reply")
    c.equal(info_state(), "running", "oversized pause requests did not pause")
    status, _, body = ctlapi.curl(sock, "GET", "/api/v1/nothing")
    c.equal(status, 404, "unknown path: 404")
    c.check(json.loads(body)["error"]["code"] == 404, "404 body is a JSON error")
    status, headers, _ = ctlapi.curl(sock, "DELETE", "/api/v1/vm.info")
    c.equal(status, 405, "unknown method: 405")
    c.equal(headers.get("allow"), "GET", "405 says Allow: GET")
    raw = ctlapi.raw_request(sock, b"GET /api/v1/vm.info HTTP/1.1\r\nHost: x\r\n"
                             b"X-Big: " + b"a" * 65536 + b"\r\n\r\n")
    status, _, _ = ctlapi.parse_response(raw)
    c.check(status is None or 400 <= status < 500,
            "64 KiB header: a 4xx or a closed connection", repr(raw[:80]))
    raw = ctlapi.raw_request(sock, b"GET /api/v1/vm.info HTTP/1.1\r\nHost: x\r\n" +
                             b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) +
                             b"\r\n")
    status, _, _ = ctlapi.parse_response(raw)
    c.check(status is None or 400 <= status < 500,
            "5000 headers: a 4xx or a closed connection", repr(raw[:80]))

    # ---- a slow client holds a connection; others are served ------------
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.connect(sock)
    slow.sendall(b"GET /api/v1/vm.info HTTP/1.1\r\nHost: x\r\n")
    status, d = ctlapi.get_json(sock, "/api/v1/vm.info")
    c.equal(status, 200, "info answers while a slowloris connection is open")
    slow.settimeout(60)
    t0 = time.monotonic()
    try:
        closed = slow.recv(4096) is not None
    except socket.timeout:
        closed = False
    waited = time.monotonic() - t0
    print(f"    slow connection closed after {waited:.1f} s")
    c.check(closed, "the server closes the slow connection (time-out)",
            f"after {waited:.1f}s")
    slow.close()

    # More idle connections than the limit: requests still get through
    # once the idle ones time out.
    idle = []
    for _ in range(24):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(sock)
        except (BlockingIOError, OSError):
            pass
        idle.append(s)
    status, _ = ctlapi.get_json(sock, "/api/v1/vm.info")
    c.equal(status, 200, "info answers with 24 idle connections around")
    for s in idle:
        s.close()

    # ---- a second splitvm on the same socket is refused ------------------
    r = svmtest.run([splitvm, "--kernel", guest, "--api-socket", sock,
                     "--cmdline", CMDLINE], timeout=60)
    c.equal(r.status, 1, "a second splitvm on a live socket: exit 1")
    c.check("in use" in r.stderr, "it says the socket is in use", r.stderr[-200:])
    c.equal(info_state(), "running", "the first VM still answers")

    # ---- shutdown while paused: status 0, socket removed ----------------
    rc, out, err = ctl_run("pause")
    c.equal(rc, 0, "pause before shutdown")
    rc, out, err = ctl_run("shutdown")
    c.check(rc == 0 and out.strip() == "stopping", "splitvm-ctl shutdown",
            out + err)
    status = vm.wait(60)
    c.equal(status, 0, "splitvm exits with status 0 after shutdown")
    c.check(not os.path.exists(sock), "the API socket is removed on exit")
    if status != 0:
        vm.dump()

    # ---- a stale socket is replaced; SIGTERM removes ours ----------------
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(sock)
    stale.close()
    vm = Vm(sock, cmdline="guest.ticks=1 guest.exit=beat", cpus=1)
    c.check(ctlapi.wait_for_socket(sock, vm.proc), "a stale socket is replaced")
    c.check("replacing stale socket" in vm.stderr(), "it says so")
    rc, out, err = ctl_run("info")
    c.check(rc == 0 and "vcpus     1" in out, "the new VM answers", out + err)
    vm.proc.send_signal(signal.SIGTERM)
    c.equal(vm.wait(60), 128 + signal.SIGTERM, "SIGTERM: status 143")
    c.check(not os.path.exists(sock), "socket removed after SIGTERM")

    # ---- curl PUT vm.shutdown: the same ending ----------------------------
    vm = Vm(sock, cmdline="guest.ticks=1 guest.exit=beat", cpus=1)
    c.check(ctlapi.wait_for_socket(sock, vm.proc), "third VM answers")
    status, _, body = ctlapi.curl(sock, "PUT", "/api/v1/vm.shutdown")
    c.equal(status, 202, "curl PUT vm.shutdown: 202")
    c.equal(vm.wait(60), 0, "exit status 0 after curl shutdown")
    c.check(not os.path.exists(sock), "socket removed")
finally:
    if vm.proc.poll() is None:
        vm.proc.kill()
        vm.proc.wait()
c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A back-end that stops answering (SIGSTOP) never holds splitvm: the
test guest loops on a splitvm-blk disk and then beats; the back-end is
SIGSTOPped in the middle of the loop.  The guest's requests time out
(its own time-out), its final device reset waits for GET_VRING_BASE at
most the client's timeout, which fails with a named error
("GET_VRING_BASE: Connection timed out"); the device goes to
reconnecting.  Meanwhile and afterwards the control API answers every
request, and vm.shutdown ends splitvm with status 0 while the back-end
is still stopped.

argv: splitvm splitvm-blk guest"""

import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import ctlapi  # noqa: E402
import splitvm_blk  # noqa: E402
import svmtest  # noqa: E402

splitvm, blk_exe, guest = sys.argv[1:4]
c = svmtest.Checker("backend_sigstop")
svmtest.require_kvm()
splitvm_blk.require(blk_exe)
if not ctlapi.have_curl():
    svmtest.skip("curl is not installed (contrib/quickstart installs it)")

# A liveness bound, not a measurement: an answer within this is an answer.
ANSWER_S = 10

with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    run = os.path.join(tmp, "api")
    os.makedirs(run)
    if os.geteuid() == 0:
        os.chown(run, 65534, 65534)
    api = os.path.join(run, "api.sock")
    img = os.path.join(tmp, "disk.img")
    with open(img, "wb") as f:
        f.truncate(64 << 20)
    be = splitvm_blk.Backend(blk_exe, tmp, img)
    out_path = os.path.join(tmp, "out")
    err_path = os.path.join(tmp, "err")
    argv = [splitvm, "--kernel", guest, "--memory", "64M",
            "--disk", f"socket={be.sock}", "--api-socket", api,
            "--cmdline", "guest.ticks=1 guest.blk=1 guest.ring=split "
            "guest.blk_loop_ms=600000 guest.blk_loop_expect=stop guest.exit=beat"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=open(out_path, "wb"), stderr=open(err_path, "wb"))

    def text(path):
        with open(path, errors="replace") as f:
            return f.read()

    def wait_until(cond, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return True
            time.sleep(0.2)
        return cond()

    def answers():
        status, _, _ = ctlapi.curl(api, "GET", "/api/v1/vm.info", timeout=ANSWER_S)
        return status == 200

    try:
        c.check(ctlapi.wait_for_socket(api, proc), "the API answers")
        c.check(wait_until(lambda: "guest: blk loop started" in text(out_path), 60),
                "the guest's block loop runs")
        time.sleep(0.5)
        be.proc.send_signal(signal.SIGSTOP)
        # While the guest waits, resets and the core times out on the
        # stopped back-end: every request answered.
        t_end = time.monotonic() + 12
        asked = answered = 0
        while time.monotonic() < t_end:
            asked += 1
            answered += answers()
            time.sleep(0.3)
        c.equal(answered, asked, f"the API answered all {asked} requests meanwhile")
        c.check(wait_until(lambda: 'loop stopped reason="timeout"' in text(out_path), 60),
                "the guest's requests timed out (the back-end is stopped)")
        c.check(wait_until(lambda: "GET_VRING_BASE: Connection timed out" in
                           text(err_path), 30),
                "the core's wait ended with a named error (GET_VRING_BASE timed out)")

        def state():
            status, d = ctlapi.get_json(api, "/api/v1/vm.devices")
            return d["devices"][0]["backend_state"] if status == 200 and d else None
        c.check(wait_until(lambda: state() == "reconnecting", 30),
                "the device shows reconnecting")
        beats = text(out_path).count("guest: beat n=")
        c.check(wait_until(lambda: text(out_path).count("guest: beat n=") > beats, 30),
                "the guest runs on")
        status, _, _ = ctlapi.curl(api, "PUT", "/api/v1/vm.shutdown", timeout=ANSWER_S)
        c.equal(status, 202, "vm.shutdown accepted")
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            rc = None
        c.equal(rc, 0, "splitvm exits 0 with the back-end still stopped")
        c.check(be.proc.poll() is None, "the back-end was still there (stopped)")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        be.proc.send_signal(signal.SIGCONT)
        be.proc.kill()
        be.proc.wait()
        if c.failed:
            print("    $ " + " ".join(argv))
            for line in text(out_path).splitlines()[-20:]:
                print("    | " + line)
            for line in text(err_path).splitlines()[-20:]:
                print("    ! " + line)
c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The control API's device view with a real vhost-user back-end:
qemu-storage-daemon serves --disk, the test guest runs its block test
and keeps beating.  vm.devices names blk0 at the PCI address the guest
found, with its socket, a connected back-end and the features the
driver acked; counters and metrics count its DRIVER_OK; a restart
request is refused with 409 (splitvm did not start this back-end); once
the daemon is killed the device shows reconnecting while the API and the VM
carry on; a new daemon on the same socket makes it connected again with
restarts 1, and shutdown still ends splitvm with status 0."""

import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import ctlapi  # noqa: E402
import qsd  # noqa: E402
import svmtest  # noqa: E402
from svmtest import wait_until  # noqa: E402

splitvm, ctl, guest = (os.path.abspath(p) for p in sys.argv[1:4])
c = svmtest.Checker("control_api_devices")
svmtest.require_kvm()
qsd.require()
if not ctlapi.have_curl():
    svmtest.skip("curl is not installed (contrib/quickstart installs it)")

VIRTIO_F_VERSION_1 = 1 << 32
tmp = tempfile.mkdtemp(prefix="splitvm-api-dev-")
# As root, splitvm becomes nobody once the VM is built and can remove its
# socket at exit only from a directory nobody may write: the documented
# deployment (docs/splitvm.md, --api-socket).
if os.geteuid() == 0:
    os.chown(tmp, 65534, 65534)
sock = os.path.join(tmp, "api.sock")
export = qsd.Export(tmp)
out_path = os.path.join(tmp, "splitvm.out")
err_path = os.path.join(tmp, "splitvm.err")
argv = [splitvm, "--kernel", guest, "--memory", "128M", "--cpus", "1",
        "--disk", f"socket={export.sock}", "--api-socket", sock,
        "--cmdline", "guest.blk=1 guest.ticks=1 guest.exit=beat"]
proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                        stdout=open(out_path, "wb"), stderr=open(err_path, "wb"))


def stdout():
    with open(out_path, errors="replace") as f:
        return f.read()


def dump():
    print("    $ " + " ".join(argv))
    for line in stdout().splitlines()[-30:]:
        print("    | " + line)
    with open(err_path, errors="replace") as f:
        for line in f.read().splitlines()[-20:]:
            print("    ! " + line)



def ctl_run(*args):
    r = subprocess.run([ctl, "--socket", sock] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def device():
    status, d = ctlapi.get_json(sock, "/api/v1/vm.devices")
    return d["devices"][0] if status == 200 and d and d["devices"] else None


try:
    if not c.check(ctlapi.wait_for_socket(sock, proc), "the API answers"):
        dump()
        c.finish()
    if not c.check(wait_until(lambda: "guest: beat n=" in stdout()),
                   "the guest ran its block test and beats"):
        dump()
        c.finish()
    report = svmtest.guest_report(stdout())
    c.equal(report.get("result"), "PASS", "guest block test: PASS")
    blk_fn = [bdf for bdf, fn in report["pci_functions"].items()
              if fn.get("vendor") == "0x1af4" and fn.get("device") == "0x1042"]

    d = device()
    c.check(d is not None, "vm.devices lists a device")
    c.equal(d.get("id"), "blk0", "device id blk0")
    c.equal(d.get("type"), "virtio-blk", "device type virtio-blk")
    c.equal([d.get("pci")], blk_fn, "device PCI address = where the guest found it")
    c.equal(d.get("socket"), export.sock, "device socket = --disk socket=")
    c.equal(d.get("backend_state"), "connected", "back-end connected")
    c.equal(d.get("restarts"), 0, "restart count 0")
    feat = d.get("features", {})
    drv, off = int(feat.get("driver", "0"), 16), int(feat.get("offered", "0"), 16)
    c.check(drv & VIRTIO_F_VERSION_1, "driver acked VERSION_1", feat.get("driver"))
    c.check(drv & ~off == 0, "driver acked only offered features",
            f"driver {drv:#x} offered {off:#x}")
    rc, out, err = ctl_run("devices")
    c.check(rc == 0 and "blk0" in out and "connected" in out and export.sock in out,
            "splitvm-ctl devices: a row for blk0", out + err)

    status, cnt = ctlapi.get_json(sock, "/api/v1/vm.counters")
    core = cnt["devices"][0]["core"] if cnt else {}
    c.check(core.get("driver_ok", 0) >= 1, "counters: blk0 driver_ok >= 1", str(core))
    c.equal(cnt["devices"][0].get("backend"), None,
            "counters: back-end counters null (vhost-user has none)")

    status, headers, text = ctlapi.curl(sock, "GET", "/metrics")
    problems, fams = ctlapi.check_openmetrics(text)
    c.check(not problems, "metrics parse as OpenMetrics", "; ".join(problems[:5]))
    c.check(any('device="blk0"' in s and 'type="virtio-blk"' in s
                for s in fams.get("splitvm_device", [])),
            "metrics: splitvm_device_info for blk0")
    c.check('splitvm_device_backend_up{device="blk0"} 1' in
            fams.get("splitvm_device_backend_up", []), "metrics: blk0 back-end up")

    status, _, body = ctlapi.curl(sock, "POST", "/api/v1/vm.device-restart",
                                  body='{"id": "blk0"}')
    c.equal(status, 409, "device-restart blk0: 409, an external back-end")
    c.check("not started by splitvm" in body, "409 says why", body)
    rc, out, err = ctl_run("restart", "blk0")
    c.check(rc == 1 and "409" in err, "splitvm-ctl restart blk0: exit 1, 409",
            err)

    # The back-end dies: the device shows it, the API and the VM go on.
    export.proc.send_signal(signal.SIGKILL)
    c.check(wait_until(lambda: (device() or {}).get("backend_state") == "reconnecting",
                       timeout=30), "killed back-end: device shows reconnecting")
    status, headers, text = ctlapi.curl(sock, "GET", "/metrics")
    c.check('splitvm_device_backend_up{device="blk0"} 0\n' in text,
            "metrics: blk0 back-end down")
    status, info = ctlapi.get_json(sock, "/api/v1/vm.info")
    c.check(status == 200 and info["state"] == "running",
            "the VM still runs and answers")
    beats = stdout().count("guest: beat n=")
    c.check(wait_until(lambda: stdout().count("guest: beat n=") > beats),
            "the guest still beats")

    # A new daemon on the same socket and image: splitvm reconnects.
    export.stop()
    if os.path.exists(export.sock):
        os.unlink(export.sock)          # the dead daemon's
    export = qsd.Export(tmp, fresh=False)
    if os.path.exists(export.sock):
        os.chmod(export.sock, 0o777)    # splitvm runs as nobody by now
    if not c.check(wait_until(lambda: (device() or {}).get("backend_state") ==
                              "connected", timeout=30),
                   "restarted back-end: device connected again"):
        dump()
    c.equal((device() or {}).get("restarts"), 1, "restarts counts the reconnect")

    rc, out, err = ctl_run("shutdown")
    c.equal(rc, 0, "splitvm-ctl shutdown")
    try:
        status = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        status = None
    c.equal(status, 0, "splitvm exits with status 0")
    c.check(not os.path.exists(sock), "the API socket is removed")
    if status != 0:
        dump()
finally:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    export.stop()
c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Boot Debian's distribution kernel to a busybox shell in an initramfs,
run a command there and power off through ACPI.  Needs a host whose KVM
runs guest kernel mode in hardware (VT-x/AMD-V): elsewhere it skips, and
says why."""

import os
import secrets
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import debian_kernel  # noqa: E402
import svmtest  # noqa: E402

splitvm = sys.argv[1]
svmtest.require_kvm()
with open("/proc/cpuinfo") as f:
    flags = next((line for line in f if line.startswith("flags")), "").split()
if "vmx" not in flags and "svm" not in flags:
    svmtest.skip("no vmx/svm in /proc/cpuinfo: this host's KVM emulates guest kernel "
                 "mode, and a stock kernel dies at its first int3 self-test before "
                 "user space (see linux_early_boot); runs on a VT-x/AMD-V host")

kernel = debian_kernel.distribution_kernel()
busybox = open(debian_kernel.busybox_static(), "rb").read()
c = svmtest.Checker("linux_shell")
token = secrets.token_hex(6)
init = f"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys
/bin/busybox mount -t proc proc /proc
echo "shell-up token={token} cpus=$(/bin/busybox grep -c ^processor /proc/cpuinfo)"
/bin/busybox poweroff -f
""".encode()

with tempfile.TemporaryDirectory() as tmp:
    initrd = os.path.join(tmp, "initrd.cpio")
    debian_kernel.make_initramfs(initrd, {
        "bin": (0o040755, b""),
        "bin/busybox": (0o100755, busybox),
        "init": (0o100755, init),
    })
    r = svmtest.run([splitvm, "--kernel", kernel, "--initrd", initrd, "--memory", "512M",
                     "--cpus", "2", "--cmdline", "console=ttyS0 panic=-1 quiet"],
                    timeout=600)
    ok = c.check(f"shell-up token={token} cpus=2" in r.stdout,
                 "busybox shell ran our command and saw 2 CPUs")
    ok &= c.equal(r.status, svmtest.EXIT_POWEROFF, "ACPI poweroff ends splitvm with 0")
    ok &= c.check("guest powered off" in r.stderr, "splitvm reports the poweroff")
    if not ok:
        r.dump()
c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Boot Debian's distribution kernel with our command line, initrd, memory
map and ACPI tables, and assert from its console that it read each of them.

  linux_early_boot.py SPLITVM vmlinux   the ELF vmlinux inside Debian's
                                        bzImage, through its PVH entry note
  linux_early_boot.py SPLITVM bzimage   the bzImage itself, x86 boot
                                        protocol and 64-bit entry

On hosts whose KVM emulates guest kernel mode (no vmx/svm, see shared
HOST.md) the kernel stops at an instruction KVM cannot emulate (lock
cmpxchg16b, int3) with a KVM internal error, after printing everything
checked here: that end is expected and reported, not a failure.  There the
bzImage's own decompressor, which runs in kernel mode, takes too long to be
a test; the vmlinux variant covers the kernel and the bzImage loader is
covered by unit tests."""

import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import debian_kernel  # noqa: E402
import svmtest  # noqa: E402

splitvm, variant = sys.argv[1:3]
svmtest.require_kvm()
with open("/proc/cpuinfo") as f:
    flags = next((line for line in f if line.startswith("flags")), "").split()
if (variant == "bzimage" and "vmx" not in flags and "svm" not in flags
        and not os.environ.get("SPLITVM_SLOW_BZIMAGE")):
    svmtest.skip("no vmx/svm: the bzImage's XZ decompressor runs in guest kernel mode, "
                 "which this host emulates (measured ~47 KB/s of output, ~25 min for "
                 "Debian's 65 MB vmlinux); set SPLITVM_SLOW_BZIMAGE=1 to run it anyway")
if variant == "vmlinux":
    kernel = debian_kernel.distribution_vmlinux()
else:
    kernel = debian_kernel.distribution_kernel()
c = svmtest.Checker(f"linux_early_boot[{variant}]")
print(f"# kernel: {kernel}")

MEM = 512 << 20
CPUS = 2
token = secrets.token_hex(6)
cmdline = f"console=ttyS0 earlyprintk=ttyS0 loglevel=8 panic=-1 splitvm.token={token}"

# What we wait for before stopping the kernel (or until it stops itself).
WANTED = {
    "cmdline": re.compile(r"Command line: (.*)"),
    "cpus": re.compile(r"smpboot: Allowing (\d+) CPUs, (\d+) hotplug CPUs"),
    "memory": re.compile(r"Memory: (\d+)K/(\d+)K available"),
    "ramdisk": re.compile(r"RAMDISK: \[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\]"),
}



def linux_view(table, pvh):
    """Our e820 table as Linux prints it: a PVH boot adds the ISA hole
    [0xa0000, 0x100000) as reserved (arch/x86/platform/pvh), and Linux
    merges overlapping and adjacent ranges of one type."""
    if pvh:
        table = table + [(0xA0000, 0x60000, 2)]
    points = sorted(table)
    merged = []
    for addr, size, kind in points:
        if merged and merged[-1][2] == kind and addr <= merged[-1][0] + merged[-1][1]:
            lo, sz, _ = merged[-1]
            merged[-1] = (lo, max(lo + sz, addr + size) - lo, kind)
        else:
            merged.append((addr, size, kind))
    return merged


with tempfile.TemporaryDirectory() as tmp:
    initrd = os.path.join(tmp, "initrd.cpio")
    init = b"#!/bin/sh\necho never reached on this host\n"
    initrd_len = debian_kernel.make_initramfs(initrd, {
        "init": (0o100755, init),
        "payload": (0o100644, os.urandom(300 * 1024)),
    })
    argv = [splitvm, "--kernel", kernel, "--initrd", initrd, "--memory", f"{MEM >> 20}M",
            "--cpus", str(CPUS), "--cmdline", cmdline]
    print("$ " + " ".join(argv))
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    os.set_blocking(proc.stdout.fileno(), False)
    out = b""
    deadline = start + float(os.environ.get("SPLITVM_LINUX_TIMEOUT",
                                            "3300" if variant == "bzimage" else "900"))
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            chunk = proc.stdout.read()
        except BlockingIOError:
            chunk = None
        if chunk:
            out += chunk
        text = out.decode(errors="replace")
        if all(rx.search(text) for rx in WANTED.values()):
            break
        time.sleep(0.2)
    stopped_by_us = proc.poll() is None
    if stopped_by_us:
        proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=60)
    out += rest
    elapsed = time.monotonic() - start
    text = out.decode(errors="replace").replace("\r", "")
    err = err.decode(errors="replace")
    print(f"# {elapsed:.1f}s, exit status {proc.returncode}, "
          f"{'stopped by the test' if stopped_by_us else 'ended by itself'}")

    m = WANTED["cmdline"].search(text)
    c.equal(m.group(1).strip() if m else None, cmdline, "kernel echoes our command line")

    got = []
    for m in re.finditer(r"BIOS-e820: \[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\] (\w+)", text):
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        got.append((lo, hi - lo + 1, 1 if m.group(3) == "usable" else 2))
    c.equal(got, linux_view(svmtest.expected_e820(MEM), variant == "vmlinux"),
            "kernel's BIOS-e820 map is ours")

    m = WANTED["cpus"].search(text)
    c.equal(int(m.group(1)) if m else None, CPUS, "kernel found every vCPU in the MADT")
    c.check("ACPI: RSDP" in text, "kernel found our ACPI RSDP")

    m = WANTED["memory"].search(text)
    ram = [(a, s) for a, s, t in svmtest.expected_e820(MEM) if t == 1]
    # Whole pages of our RAM, less page 0, which Linux always reserves
    # ("e820: update [mem 0x00000000-0x00000fff] usable ==> reserved").
    want_k = sum((s // 4096) * 4 for a, s in ram) - 4
    c.equal(int(m.group(2)) if m else None, want_k, "kernel's total memory (KiB) matches our RAM")

    m = WANTED["ramdisk"].search(text)
    if c.check(m is not None, "kernel found the initrd"):
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        c.equal(hi - lo + 1, (initrd_len + 4095) // 4096 * 4096, "initrd size as placed")

    if not stopped_by_us:
        c.check(proc.returncode == svmtest.EXIT_CRASH and "internal error" in err,
                "kernel stopped on a KVM internal error (expected without VT-x/AMD-V)",
                f"status {proc.returncode}")
        print("# note: on this host KVM emulates guest kernel mode and cannot emulate "
              "every instruction the kernel uses (lock cmpxchg16b, int3): the boot "
              "ends here, as expected")
    if c.failed:
        print("---- console ----")
        print(text[-6000:])
        print("---- stderr ----")
        print(err[-3000:])

c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Bad input gets a one-line error naming the problem and a non-zero exit,
never a crash: kernel missing or malformed, initrd too large, memory too
small or not a number, too many vCPUs, no KVM device, no permission to
open it, a device that is not KVM."""

import os
import stat
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import svmtest  # noqa: E402

splitvm, guest = sys.argv[1:3]
c = svmtest.Checker("bad_input")


def expect_error(argv, status, words, what, **kw):
    r = svmtest.run([splitvm] + argv, timeout=60, **kw)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    ok = c.equal(r.status, status, f"{what}: exit status {status}")
    ok &= c.equal(len(lines), 1, f"{what}: exactly one line on stderr")
    text = lines[0] if lines else ""
    ok &= c.check(text.startswith("splitvm: error:"), f"{what}: it is an error line", text)
    for w in words:
        ok &= c.check(w.lower() in text.lower(), f"{what}: names '{w}'", text)
    if not ok:
        r.dump()


with tempfile.TemporaryDirectory() as tmp:
    def write(name, data):
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    # Command line problems: status 2.
    expect_error([], 2, ["--kernel"], "no kernel")
    expect_error(["-k", guest, "-m", "lots"], 2, ["--memory", "lots"], "memory not a number")
    expect_error(["-k", guest, "-m", "8M"], 2, ["--memory", "too small"], "memory too small")
    expect_error(["-k", guest, "-m", "99999999999999999999"], 2, ["--memory"], "memory overflow")
    expect_error(["-k", guest, "-c", "255"], 2, ["--cpus", "255"], "too many vCPUs")
    expect_error(["-k", guest, "-c", "0"], 2, ["--cpus"], "zero vCPUs")
    expect_error(["-k", guest, "--bogus"], 2, ["--bogus"], "unknown option")

    # Files: status 1, reported before KVM is touched.
    missing = os.path.join(tmp, "no-such-kernel")
    expect_error(["-k", missing], 1, [missing], "missing kernel")
    expect_error(["-k", write("empty", b"")], 1, ["empty"], "empty kernel")
    expect_error(["-k", write("junk", os.urandom(8192))], 1, ["junk"], "random bytes as kernel")
    with open(guest, "rb") as f:
        elf = f.read()
    expect_error(["-k", write("truncated.elf", elf[:100])], 1, ["truncated.elf"], "truncated ELF")
    bad_machine = bytearray(elf)
    struct.pack_into("<H", bad_machine, 18, 0x28)  # EM_ARM
    expect_error(["-k", write("arm.elf", bytes(bad_machine))], 1, ["arm.elf"], "ELF for another machine")
    bzimage = bytearray(8192)
    struct.pack_into("<H", bzimage, 0x1FE, 0xAA55)
    bzimage[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", bzimage, 0x206, 0x0200)  # boot protocol 2.00
    bzimage[0x1F1] = 4
    expect_error(["-k", write("old.bzImage", bytes(bzimage))], 1, ["old.bzImage"], "bzImage with an old boot protocol")
    expect_error(["-k", guest, "-i", missing], 1, [missing], "missing initrd")
    big = os.path.join(tmp, "big-initrd")
    with open(big, "wb") as f:
        f.truncate(64 << 20)
    expect_error(["-k", guest, "-m", "32M", "-i", big], 1, ["initrd"], "initrd larger than memory")
    expect_error(["-k", guest, "-a", "x" * (70 * 1024)], 1, ["command line"], "command line too long")

    # The KVM device.
    expect_error(["-k", guest, "--kvm", missing], 1, [missing], "no KVM device")
    expect_error(["-k", guest, "--kvm", "/dev/null"], 1, ["/dev/null", "not a KVM device"], "not a KVM device")
    if os.getuid() == 0 and os.path.exists("/dev/kvm"):
        # A root-owned 0600 KVM node, opened by an unprivileged user.
        node = os.path.join(tmp, "kvm")
        os.mknod(node, 0o600 | stat.S_IFCHR, os.stat("/dev/kvm").st_rdev)
        os.chmod(tmp, 0o755)

        def drop():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        if os.access(splitvm, os.X_OK) and subprocess.run(
                [splitvm, "--version"], preexec_fn=drop,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
            expect_error(["-k", guest, "--kvm", node], 1, [node, "permission denied"],
                         "no permission to open the KVM device", preexec_fn=drop)
        else:
            print("  note: the build tree is not reachable by uid 65534; permission case not run")

c.finish()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Boot the test guest with several vCPU counts, memory sizes and both entry
protocols, and assert every fact it reports against what was passed."""

import os
import secrets
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import svmtest  # noqa: E402

splitvm, guest_pvh, guest_linux64 = sys.argv[1:4]
svmtest.require_kvm()
c = svmtest.Checker("boot_guest")

CONFIGS = [
    # (image, protocol, cpus, memory MiB, initrd bytes)
    (guest_pvh, "pvh", 1, 64, 4096),
    (guest_pvh, "pvh", 2, 512, 3 * 1024 * 1024 + 17),
    (guest_pvh, "pvh", 4, 3584, 1 << 20),
    (guest_linux64, "linux64", 1, 128, 0),
    (guest_linux64, "linux64", 2, 4096, 65536),
]

with tempfile.TemporaryDirectory() as tmp:
    for image, proto, cpus, mem_mib, initrd_len in CONFIGS:
        label = f"{proto} cpus={cpus} mem={mem_mib}M initrd={initrd_len}"
        print(f"# {label}")
        token = secrets.token_hex(6)
        cmdline = f"guest.ticks=3 token={token} quoted='a b'"
        argv = [splitvm, "--kernel", image, "--cpus", str(cpus),
                "--memory", f"{mem_mib}M", "--cmdline", cmdline]
        initrd = b""
        if initrd_len:
            initrd = os.urandom(initrd_len)
            path = os.path.join(tmp, f"initrd-{token}")
            with open(path, "wb") as f:
                f.write(initrd)
            argv += ["--initrd", path]
        r = svmtest.run(argv, timeout=180)
        rep = svmtest.guest_report(r.stdout)
        ok = c.equal(r.status, 0, f"{label}: exit status 0 (guest PASS)")
        c.equal(rep.get("hello", {}).get("protocol"), proto,
                f"{label}: entered through the {proto} protocol")
        c.equal(rep.get("cmdline"), cmdline, f"{label}: command line")

        want = svmtest.expected_e820(mem_mib << 20)
        c.equal(rep["memmap"], want, f"{label}: memory map")
        c.equal(rep.get("memmap_entries"), len(want), f"{label}: memory map entry count")
        want_ram = sum(size for _, size, kind in want if kind == 1)
        c.equal(int(rep.get("ram", {}).get("bytes", -1)), want_ram,
                f"{label}: usable RAM bytes")

        rd = rep.get("initrd", {})
        if initrd_len:
            c.equal(int(rd.get("size", -1)), initrd_len, f"{label}: initrd size")
            c.equal(int(rd.get("fnv1a32", "0x0"), 16), svmtest.fnv1a32(initrd),
                    f"{label}: initrd checksum")
            addr = int(rd.get("addr", "0x1"), 16)
            c.check(addr % 4096 == 0 and addr + initrd_len <= min(mem_mib << 20, 3 << 30),
                    f"{label}: initrd page aligned, inside low RAM", hex(addr))
        else:
            c.check(rd.get("none") is True, f"{label}: no initrd reported")

        cmos = rep.get("cmos", {})
        low, high = min(mem_mib << 20, 3 << 30), max((mem_mib << 20) - (3 << 30), 0)
        c.equal(int(cmos.get("ext_mem_64k", -1)), min((low - (16 << 20)) >> 16, 0xFFFF),
                f"{label}: CMOS memory above 16 MiB")
        c.equal(int(cmos.get("high_mem_64k", -1)), high >> 16, f"{label}: CMOS memory above 4 GiB")

        # Only the host bridge, at 00:00.0, with no BARs or capabilities.
        c.equal(rep["pci_functions"],
                {"00:00.0": {"vendor": "0x1b36", "device": "0x0008",
                             "class": "0x060000", "bars": {}, "caps": []}},
                f"{label}: PCI bus 0 holds the host bridge only")
        c.equal(rep.get("pci", {}).get("devices"), "1", f"{label}: PCI functions found")

        acpi = rep.get("acpi", {})
        c.equal(int(acpi.get("madt_cpus", -1)), cpus, f"{label}: MADT lists every vCPU")
        c.equal(acpi.get("ioapic"), "0xfec00000", f"{label}: MADT IOAPIC address")
        c.equal(sorted(rep["cpu_up"]), [(i, i) for i in range(1, cpus)],
                f"{label}: every AP started through INIT/SIPI with APIC id = index")
        c.equal(rep.get("cpus", {}).get("up"), str(cpus), f"{label}: cpus up")
        timer = rep.get("timer", {})
        c.check(int(timer.get("ticks", 0)) >= 3,
                f"{label}: PIT timer interrupts through the IOAPIC", str(timer))
        c.equal(timer.get("gsi"), "2", f"{label}: timer on GSI 2")
        c.equal(rep.get("result"), "PASS", f"{label}: guest verdict")
        c.check("error" not in r.stderr, f"{label}: no errors logged", r.stderr.strip())
        if not ok or rep.get("result") != "PASS":
            r.dump()

c.finish()

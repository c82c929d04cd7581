#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-drive --net --probe against a third-party back-end, DPDK's
testpmd with net_vhost in macswap forwarding: a check of the probe
itself.  testpmd is librte_vhost 22.11 with nothing on top, so the probe
must report what that library does (docs/splitvm-net.md, "Malformed
descriptor chains"): a chain it cannot parse stays at the head of the
ring, so the good frame behind it never comes out (served: no) while a
new connection works; a chain no longer than the virtio-net header is
dropped and the frame behind it gets through (pass); runt and oversize
frames are forwarded (forwarded: yes).  Then on packed rings (the probes
that need a next index or an indirect table are skipped there): a bad
transmit chain is consumed and dropped (pass), runt and oversize frames
forwarded, a bad receive buffer stalls the queue.  testpmd keeps
running."""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import svmtest  # noqa: E402
import testpmd  # noqa: E402

drive = sys.argv[1]
c = svmtest.Checker("drive_net_probe_testpmd")
if testpmd.binary() is None:
    svmtest.skip("dpdk-testpmd is not installed (Debian package dpdk-dev)")

STALL = {"tx_descriptor_loop", "tx_next_out_of_table", "tx_addr_unmapped",
         "tx_addr_past_end", "tx_huge_length", "tx_indirect_unmapped",
         "tx_indirect_too_long", "tx_indirect_loop", "rx_buffer_unmapped",
         "rx_buffer_loop", "rx_buffer_next_out_of_table",
         "rx_buffer_zero_length", "rx_buffer_tiny"}
DROPPED = {"tx_zero_length", "tx_header_only", "tx_short_header"}
FORWARDED = {"tx_runt", "tx_oversize_9000", "tx_oversize_64k"}
# On packed rings: no next index, no indirect table in the probe.
SPLIT_ONLY = {"tx_descriptor_loop", "tx_next_out_of_table",
              "tx_indirect_unmapped", "tx_indirect_too_long",
              "tx_indirect_loop", "rx_buffer_loop",
              "rx_buffer_next_out_of_table"}
PACKED_STALL = {n for n in STALL if n.startswith("rx_")} - SPLIT_ONLY


def run_probe(sock, packed):
    p = subprocess.run([drive, "--net", "--probe", "--json", "-s", sock] +
                       (["--packed"] if packed else []),
                       capture_output=True, text=True, timeout=300)
    try:
        return p.returncode, {r["name"]: r for r in
                              json.loads(p.stdout)["probes"]}
    except (ValueError, KeyError):
        print(p.stdout, p.stderr)
        return p.returncode, {}

with tempfile.TemporaryDirectory() as tmp:
    sock = os.path.join(tmp, "vhost.sock")
    tp = testpmd.Testpmd(sock, f"splitvm-drive-probe-{os.getpid()}",
                         log_path=os.path.join(tmp, "testpmd.log"))
    if not c.check(tp.start(), "testpmd started"):
        print(tp.stop()[-3000:])
        c.finish()
    try:
        status, res = run_probe(sock, False)
        c.equal(status, 3, "the probe reports failures (exit status 3)")
        c.equal(set(res), STALL | DROPPED | FORWARDED,
                "every probe ran and this test knows it")
        for name, r in sorted(res.items()):
            want = {"setup": True, "hung_up": False, "ring_broken": False,
                    "alive_after": True,
                    "served_after": name not in STALL,
                    "forwarded": name in FORWARDED,
                    "pass": name in DROPPED}
            got = {k: r[k] for k in want}
            c.equal(got, want, f"{name}: " + (
                "the ring stalls, a new connection works" if name in STALL
                else "forwarded" if name in FORWARDED
                else "dropped, the frame behind it gets through"))
        status, res = run_probe(sock, True)
        c.equal(status, 3, "packed: the probe reports failures")
        for name, r in sorted(res.items()):
            if name in SPLIT_ONLY:
                c.check(r["skipped"], f"packed {name}: skipped")
                continue
            want = {"hung_up": False, "ring_broken": False,
                    "alive_after": True,
                    "served_after": name not in PACKED_STALL,
                    "forwarded": name in FORWARDED,
                    "pass": name not in PACKED_STALL | FORWARDED}
            c.equal({k: r[k] for k in want}, want, f"packed {name}: " + (
                "the receive queue stalls" if name in PACKED_STALL
                else "forwarded" if name in FORWARDED
                else "consumed and dropped, the next frame gets through"))
        c.check(tp.running(), "testpmd still runs")
    finally:
        tp.stop()

c.finish()

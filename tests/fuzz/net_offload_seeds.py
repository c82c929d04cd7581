#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Seeds for fuzz_net_offload: want, gso_size, header bytes / 4, then a
frame from the tests' own builder: TSO over IPv4 and IPv6, partial
checksums over TCP and UDP."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
from vu_net import frame  # noqa: E402

A, B = "02:00:00:00:00:01", "02:00:00:00:00:02"
SEEDS = [
    (1 | 2, 1000, frame(B, A, payload=bytes(2900))),
    (1 | 4, 1440, frame(B, A, v6=True, payload=bytes(5000))),
    (1, 0, frame(B, A, proto=17, payload=b"u" * 33)),
    (1, 0, frame(B, A, v6=True, proto=17, payload=b"")),
    (1 | 2, 536, frame(B, A, payload=bytes(536 * 5))),
]
os.makedirs(sys.argv[1], exist_ok=True)
for i, (want, mss, fr) in enumerate(SEEDS):
    with open(os.path.join(sys.argv[1], str(i)), "wb") as f:
        f.write(struct.pack("!BHB", want, mss, 255) + fr)

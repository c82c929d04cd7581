# SPDX-License-Identifier: GPL-2.0-only
"""The block pattern splitvm-drive --verify writes (docs/splitvm-drive.md,
"The verify block format"), checked from the host on a raw image."""

import struct
import zlib

MAGIC = 0x4B44565A      # tools/drive/verify.h DRIVE_VERIFY_MAGIC


def bad_blocks(img, seed, size, bs=4096):
    """Offsets of the blocks of img[0:size] that do not hold the driver's
    pattern: magic, CRC-32 of the rest, their own offset, the run's seed
    and a generation of at least 1."""
    bad = []
    with open(img, "rb") as f:
        for off in range(0, size, bs):
            f.seek(off)
            blk = f.read(bs)
            magic, crc, boff, gen, bseed = struct.unpack_from("<IIQQQ", blk)
            if (magic != MAGIC or crc != zlib.crc32(blk[8:]) or boff != off
                    or bseed != seed or gen < 1):
                bad.append(off)
    return bad

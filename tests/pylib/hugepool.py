# SPDX-License-Identifier: GPL-2.0-only
"""The machine's pool of 2 MiB huge pages, for tests that set its size
for their duration (root only) and put the old size back."""

import os

NR = "/proc/sys/vm/nr_hugepages"
FREE = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"


def usable():
    """Whether this process may size the pool: root, 2 MiB pages."""
    return os.getuid() == 0 and os.path.exists(FREE)


def size():
    with open(NR) as f:
        return int(f.read())


def free():
    with open(FREE) as f:
        return int(f.read())


def set_size(n):
    with open(NR, "w") as f:
        f.write(str(n))

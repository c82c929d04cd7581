# SPDX-License-Identifier: GPL-2.0-only
"""qemu-storage-daemon as a third-party vhost-user-blk back-end for tests:
export a fresh raw image on a unix socket, and stop it afterwards."""

import os
import shutil
import subprocess
import time

import svmtest

QSD = "qemu-storage-daemon"


def require():
    if shutil.which(QSD) is None:
        svmtest.skip(f"{QSD} is not installed (Debian package qemu-system-common)")


class Export:
    """A raw image of size bytes in tmp, exported at self.sock (writable
    unless told otherwise, with num_queues virtqueues)."""

    def __init__(self, tmp, size=64 << 20, num_queues=1, writable=True,
                 name="disk", fresh=True):
        """fresh=False: export the image a previous daemon left (a restart)."""
        self.img = os.path.join(tmp, f"{name}.img")
        self.sock = os.path.join(tmp, f"{name}.sock" if name != "disk" else "blk.sock")
        if fresh:
            with open(self.img, "wb") as f:
                f.truncate(size)
        self.log = open(os.path.join(tmp, f"qsd-{name}.log"
                                     if name != "disk" else "qsd.log"), "w+")
        self.proc = subprocess.Popen(
            [QSD,
             "--blockdev", f"driver=file,node-name=file0,filename={self.img}",
             "--blockdev", "driver=raw,node-name=disk0,file=file0",
             "--export", "type=vhost-user-blk,id=exp0,node-name=disk0,"
                         f"addr.type=unix,addr.path={self.sock},"
                         f"writable={'on' if writable else 'off'},"
                         f"num-queues={num_queues}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        # splitvm itself waits up to 5 s for the socket; this only keeps a
        # daemon that died at once from looking like a splitvm bug.
        for _ in range(50):
            if os.path.exists(self.sock) or self.proc.poll() is not None:
                break
            time.sleep(0.1)

    def running(self):
        return self.proc.poll() is None

    def stop(self):
        """Terminate (or kill) the daemon; returns what it logged."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.seek(0)
        text = self.log.read()
        self.log.close()
        return text

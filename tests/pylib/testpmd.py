# SPDX-License-Identifier: GPL-2.0-only
"""DPDK's dpdk-testpmd as a vhost-user net back-end for tests and benchmarks.

One testpmd process with one net_vhost port (a vhost-user server on a unix
socket, one queue pair) forwarding what the guest sends back to it
(macswap by default).  It runs without hugepages, PCI or a TTY and keeps
running until stop() sends SIGINT, after which it prints its final
statistics.  VMMs connect to the socket as vhost-user clients, one after
another if need be: testpmd accepts a new connection after each
disconnect.
"""

import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time


def binary():
    """Path of dpdk-testpmd, or None (Debian package dpdk-dev)."""
    return shutil.which("dpdk-testpmd")


class Testpmd:
    def __init__(self, sock, prefix, forward_mode="macswap", lcores="0,1",
                 log_path=None):
        self.sock = sock
        self.prefix = prefix
        self.forward_mode = forward_mode
        self.lcores = lcores
        self.proc = None
        self._own_log = log_path is None
        if log_path is None:
            fd, log_path = tempfile.mkstemp(prefix="testpmd-", suffix=".log")
            os.close(fd)
        self.log_path = log_path
        self._log = None

    def argv(self):
        eal = ["-l", self.lcores, "--no-huge", "-m", "1024", "--no-pci",
               f"--file-prefix={self.prefix}",
               "--vdev", f"net_vhost0,iface={self.sock},queues=1"]
        if os.geteuid() != 0:
            eal += ["--no-shconf", "--iova-mode=va"]
        # Not interactive: --stats-period keeps it running until SIGINT.
        return [binary()] + eal + [
            "--", f"--forward-mode={self.forward_mode}", "--auto-start",
            "--total-num-mbufs=16384", "--no-mlockall", "--stats-period=1"]

    # Printed once forwarding runs; the socket exists before that, and a
    # client that connects too early waits for testpmd to get round to it.
    READY = "packet forwarding - ports="

    def start(self, timeout=30.0):
        """Start it and wait for its socket and forwarding; False (and it
        is stopped) if it did not come up."""
        self._log = open(self.log_path, "w+")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None or (
                    os.path.exists(self.sock) and self.READY in self.log()):
                break
            time.sleep(0.1)
        if self.proc.poll() is None and os.path.exists(self.sock) and \
                self.READY in self.log():
            return True
        self.stop()
        return False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGINT (testpmd prints its final statistics), then harder;
        returns its whole output and removes its runtime directory."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        text = self.log()
        if self._log is not None:
            self._log.close()
            self._log = None
            if self._own_log:
                os.unlink(self.log_path)
        for d in self.runtime_dirs():
            shutil.rmtree(d, ignore_errors=True)
        return text

    def log(self):
        if self._log is None:
            return ""
        self._log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def runtime_dirs(self):
        """Where EAL may have put this --file-prefix's runtime directory."""
        bases = ["/var/run/dpdk", "/tmp/dpdk"]
        if os.environ.get("XDG_RUNTIME_DIR"):
            bases.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "dpdk"))
        return [d for b in bases
                for d in glob.glob(os.path.join(b, self.prefix))]


def port0_stats(log):
    """RX-packets and TX-packets of the last "Forward statistics for port
    0" block (the one testpmd prints when it stops), or None."""
    blocks = re.findall(r"Forward statistics for port 0\s+-+\s*\n"
                        r"\s*RX-packets:\s*(\d+).*?\n"
                        r"\s*TX-packets:\s*(\d+)", log)
    if not blocks:
        return None
    rx, tx = blocks[-1]
    return int(rx), int(tx)

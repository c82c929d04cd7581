# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-blk as the tests run it: unprivileged (uid/gid 65534, no
capabilities), the image opened by the test and passed as an fd so the
back-end needs no access to its path; plus /proc readers for what the
process is and how much CPU it used."""

import os
import subprocess
import time

import svmtest

NOBODY = 65534


def require(exe):
    if not exe or exe == "none" or not os.path.exists(exe):
        svmtest.skip("splitvm-blk was not built (needs libdpdk-dev and liburing-dev)")


class Backend:
    """splitvm-blk serving img on tmp/run/blk.sock as nobody."""

    started = []        # every instance, for clean-up after a failure

    def __init__(self, exe, tmp, img, args=(), read_only=False, name="blk",
                 sock_fd=None):
        """sock_fd: serve this connected socket (--fd) instead of a path."""
        run = os.path.join(tmp, f"run-{name}")
        os.makedirs(run, exist_ok=True)
        os.chown(run, NOBODY, NOBODY)
        os.chmod(run, 0o700)
        self.sock = os.path.join(run, "blk.sock")
        self.logpath = os.path.join(tmp, f"{name}.log")
        self.log = open(self.logpath, "w+")
        fd = os.open(img, os.O_RDONLY if read_only else os.O_RDWR)
        if sock_fd is None:
            argv = [exe, "--socket-path", self.sock]
            fds = (fd,)
        else:
            argv = [exe, "--fd", str(sock_fd)]
            fds = (fd, sock_fd)
        argv += ["--image-fd", str(fd)]
        if read_only:
            argv.append("--read-only")
        self.proc = subprocess.Popen(
            argv + list(args), pass_fds=fds, user=NOBODY, group=NOBODY,
            extra_groups=[], stdout=self.log, stderr=subprocess.STDOUT)
        Backend.started.append(self)
        os.close(fd)
        if sock_fd is not None:
            return
        for _ in range(100):
            if os.path.exists(self.sock) or self.proc.poll() is not None:
                break
            time.sleep(0.1)

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc.poll() is None

    def status(self):
        """/proc/PID/status as a dict of strings."""
        out = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
        return out

    def cpu_seconds(self):
        """User + system CPU time of every thread so far."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # Fields 14 and 15 (utime, stime), counted from 1 with pid.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def threads(self):
        names = []
        for tid in os.listdir(f"/proc/{self.pid}/task"):
            try:
                with open(f"/proc/{self.pid}/task/{tid}/comm") as f:
                    names.append(f.read().strip())
            except OSError:
                pass
        return names

    def snapshot(self):
        """Each thread's name, state and where it waits in the kernel
        (wchan, and the kernel stack where /proc lets root read it): after
        a request timed out, whether a queue thread sleeps with I/O in
        flight (an io_uring or io-wq worker stuck on the disk) or idle on
        its kick.  One line a thread; best effort, never raises."""
        lines = []
        try:
            tids = sorted(os.listdir(f"/proc/{self.pid}/task"), key=int)
        except OSError as e:
            return f"no /proc/{self.pid}/task: {e}"
        for tid in tids:
            base = f"/proc/{self.pid}/task/{tid}"
            info = []
            for name in ("comm", "wchan", "stack"):
                try:
                    with open(f"{base}/{name}") as f:
                        text = f.read().strip()
                except OSError:
                    continue
                if name == "stack":
                    text = " < ".join(ln.split()[-1] for ln in text.splitlines()[:6])
                info.append(text)
            try:
                with open(f"{base}/stat") as f:
                    info.insert(1, "state " + f.read().rsplit(")", 1)[1].split()[0])
            except OSError:
                pass
            lines.append(f"{tid}: " + " | ".join(info))
        return "\n".join(lines)

    def text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.logpath) as f:
            return f.read()

    def stop(self):
        """SIGTERM (SIGKILL after 10 s); returns (exit status, log)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        text = self.text()
        if not self.log.closed:
            self.log.close()
        return self.proc.returncode, text

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The console on a real terminal (a pty): raw mode while the VM runs,
keys reach the guest's UART, Ctrl-A x quits, and the terminal settings
are restored on every way out (quit, SIGTERM, guest exit)."""

import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import svmtest  # noqa: E402

splitvm, guest = sys.argv[1:3]
svmtest.require_kvm()
c = svmtest.Checker("console")


def start(cmdline):
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    proc = subprocess.Popen(
        [splitvm, "--kernel", guest, "--memory", "64M", "--cmdline", cmdline],
        stdin=slave, stdout=slave, stderr=subprocess.PIPE)
    return proc, master, slave, before


def read_until(master, text, timeout=60):
    buf = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end and text.encode() not in buf:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                buf += os.read(master, 4096)
            except OSError:
                break
    return buf.decode(errors="replace")


def finish(proc, master, slave, before, what, status):
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    err = proc.stderr.read().decode(errors="replace")
    c.equal(proc.returncode, status, f"{what}: exit status {status}")
    c.equal(termios.tcgetattr(slave), before, f"{what}: terminal settings restored")
    os.close(master)
    os.close(slave)
    return err


# Raw mode while running, and Ctrl-A x quits.
proc, master, slave, before = start("guest.ticks=1 guest.exit=hang")
out = read_until(master, "guest: hanging")
c.check("guest: hanging" in out, "guest runs with a terminal console", out[-200:])
lflag = termios.tcgetattr(slave)[3]
c.check(not lflag & termios.ICANON and not lflag & termios.ECHO and not lflag & termios.ISIG,
        "terminal is in raw mode while the VM runs")
os.write(master, b"\x01x")
err = finish(proc, master, slave, before, "Ctrl-A x", 128 + signal.SIGINT)
c.check("Ctrl-A x" in err, "Ctrl-A x: says why it stopped", err.strip())

# SIGTERM while in raw mode.
proc, master, slave, before = start("guest.ticks=1 guest.exit=hang")
read_until(master, "guest: hanging")
proc.send_signal(signal.SIGTERM)
finish(proc, master, slave, before, "SIGTERM", 128 + signal.SIGTERM)

# Ctrl-C is a key for the guest, not a signal to splitvm.
proc, master, slave, before = start("guest.ticks=1 guest.exit=hang")
read_until(master, "guest: hanging")
os.write(master, b"\x03")
time.sleep(0.5)
c.check(proc.poll() is None, "Ctrl-C goes to the guest and does not stop splitvm")
proc.send_signal(signal.SIGTERM)
finish(proc, master, slave, before, "after Ctrl-C", 128 + signal.SIGTERM)

# Keys reach the guest's UART; Ctrl-A Ctrl-A sends one Ctrl-A.
proc, master, slave, before = start("guest.ticks=1 guest.echo=5")
read_until(master, "waiting for input")
os.write(master, b"ab\x01\x01c\x7f")
out = read_until(master, "hex=", timeout=30)
out += read_until(master, "\n", timeout=5)
c.check("input bytes=5 hex=616201637f" in out, "typed bytes reach the guest, escape removed",
        out.strip()[-120:])
finish(proc, master, slave, before, "console input", 0)

# Input from a pipe is passed through untouched (no escape processing).
# Like a person at a terminal, it is sent once the guest listens: a byte
# already in the UART when the guest switches FIFO mode is lost, as on
# real hardware.
proc = subprocess.Popen([splitvm, "--kernel", guest, "--memory", "64M", "--cmdline",
                         "guest.ticks=1 guest.echo=4"],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
out = read_until(proc.stdout.fileno(), "waiting for input")
proc.stdin.write(b"\x01x\x00\xff")
proc.stdin.flush()
rest, _ = proc.communicate(timeout=60)
out += rest.decode(errors="replace")
c.check("input bytes=4 hex=017800ff" in out, "piped bytes reach the guest verbatim",
        out.strip()[-120:])
c.equal(proc.returncode, 0, "piped input: the guest ends normally")

# Closed stdin and stdout: the next files splitvm opens (eventfds, the
# guest RAM memfd) must not take fds 0 and 1, or console output would be
# written into guest memory.  They must point at /dev/null instead.
proc = subprocess.Popen([splitvm, "--kernel", guest, "--memory", "64M", "--cmdline",
                         "guest.ticks=1 guest.exit=hang"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                        preexec_fn=lambda: (os.close(0), os.close(1)))
links = {}
deadline = time.monotonic() + 30
while time.monotonic() < deadline and proc.poll() is None:
    try:
        links = {fd: os.readlink(f"/proc/{proc.pid}/fd/{fd}") for fd in (0, 1)}
        if any("memfd" in v or "anon_inode" in v for v in links.values()) or \
                len(os.listdir(f"/proc/{proc.pid}/task")) > 1:
            break
    except OSError:
        pass
    time.sleep(0.05)
proc.send_signal(signal.SIGTERM)
_, err = proc.communicate(timeout=60)
c.equal(links, {0: "/dev/null", 1: "/dev/null"},
        "closed stdin and stdout are reopened on /dev/null")
c.equal(proc.returncode, 128 + signal.SIGTERM, "closed stdin and stdout: VM runs and stops")

# The guest ending by itself.
proc, master, slave, before = start("guest.ticks=1")
read_until(master, "result=")
finish(proc, master, slave, before, "guest exit", 0)

c.finish()

# SPDX-License-Identifier: GPL-2.0-only
"""Helpers for splitvm's process-level tests (kvm, integration, slow suites).

A test script builds a Checker, runs splitvm as a user would, asserts on
what it printed and how it exited, and ends with checker.finish(): the
exit status is 0 when every check passed, 1 otherwise, 77 (meson SKIP) when
skip() was called.  Every check is printed, so a failing run explains
itself in the meson test log.
"""

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

SKIP = 77

# Exit statuses documented in `splitvm --help`.
EXIT_POWEROFF = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_RESET = 10
EXIT_CRASH = 11
GUEST_FAIL = 0x21


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def require_kvm():
    if not os.path.exists("/dev/kvm"):
        skip("/dev/kvm is absent: this test needs KVM")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        skip("/dev/kvm is not accessible to this user")


def wait_until(cond, timeout=60, step=0.2, idle=None):
    """True once cond() is, within timeout s (then cond() once more);
    idle(), if given, runs between looks (a test's background polling)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        if idle:
            idle()
        time.sleep(step)
    return cond()


def proc_status(what):
    """The fields of a /proc status file (a pid, or the path of a task's
    status) as strings; {} once the process is gone."""
    path = f"/proc/{what}/status" if isinstance(what, int) else what
    fields = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(":")
                fields[k] = v.strip()
    except OSError:
        pass
    return fields


def proc_children(pid):
    """The pids of pid's children (its main thread's)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def proc_gone(pid):
    """pid ended: gone, or a zombie that init or its parent will reap."""
    return proc_status(pid).get("State", "Z").startswith("Z")


def stop(proc, timeout=30):
    """SIGTERM a Popen, SIGKILL it if it outlives timeout s; reaped."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Checker:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print(f"  ok   {what}")
        else:
            self.failed += 1
            print(f"  FAIL {what}" + (f": {detail}" if detail else ""))
        return cond

    def equal(self, got, want, what):
        return self.check(got == want, what, f"got {got!r}, want {want!r}")

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed or not self.passed else 0)


class Run:
    """The outcome of one splitvm process."""

    def __init__(self, argv, status, stdout, stderr, seconds):
        self.argv = argv
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds

    def dump(self):
        print("    $ " + " ".join(self.argv))
        print(f"    exit status {self.status} after {self.seconds:.2f}s")
        for line in self.stdout.splitlines()[-60:]:
            print("    | " + line)
        for line in self.stderr.splitlines()[-30:]:
            print("    ! " + line)


def _read_lines(stream, lines, q):
    for raw in iter(stream.readline, b""):
        lines.append(raw.decode(errors="replace").rstrip("\n"))
        q.put(1)
    q.put(None)


def start_live_run(argv, cwd, out, err):
    """Start splitvm (argv) and read its stdout into the list out and its
    stderr into err, line by line, while it runs (end_live_run cleans
    up); returns the process and a queue that gets an item per line (None
    at the end of each stream), for waiting on new output."""
    vm = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    q = queue.Queue()
    for stream, lines in ((vm.stdout, out), (vm.stderr, err)):
        threading.Thread(target=_read_lines, args=(stream, lines, q),
                         daemon=True).start()
    return vm, q


def end_live_run(c, vm, argv, out, err, backend, out_lines=40, err_lines=40):
    """The clean-up of a test that started splitvm with Popen and read its
    stdout (out) and stderr (err) line by line while it ran, next to one
    back-end process: splitvm is killed if it still runs; when a check
    failed or splitvm did not power off, its command line, the tail of
    what it printed and of the back-end's log (if it keeps one, logpath)
    are printed; then the back-end is killed (and stopped, if it can be).
    vm may be None (splitvm never started)."""
    if vm is not None and vm.poll() is None:
        vm.kill()
        vm.wait()
    if vm is not None and (c.failed or vm.returncode != EXIT_POWEROFF):
        print("    $ " + " ".join(argv))
        for line in out[-out_lines:]:
            print("    | " + line)
        for line in err[-err_lines:]:
            print("    ! " + line)
        if hasattr(backend, "logpath"):
            with open(backend.logpath) as f:
                for line in f.read().splitlines()[-20:]:
                    print("    blk| " + line)
    backend.proc.kill()
    backend.proc.wait()
    if hasattr(backend, "stop"):
        backend.stop()


def run(argv, timeout=120, stdin=subprocess.DEVNULL, signal_after=None,
        signal_on=None, preexec_fn=None):
    """Run argv; optionally send a signal after some seconds, or once a
    given string appears on stdout (signal_on=(text, signum))."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=preexec_fn)
    if signal_on is None and signal_after is None:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            err += b"\n[test harness: killed after timeout]\n"
    else:
        out, err = _run_and_signal(proc, timeout, signal_after, signal_on)
    return Run(argv, proc.returncode, out.decode(errors="replace"),
               err.decode(errors="replace"), time.monotonic() - start)


def _run_and_signal(proc, timeout, signal_after, signal_on):
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    bufs = {"out": b"", "err": b""}
    start = time.monotonic()
    sent = False
    open_streams = 2
    while open_streams:
        elapsed = time.monotonic() - start
        if elapsed > timeout:
            proc.kill()
            bufs["err"] += b"\n[test harness: killed after timeout]\n"
            break
        if not sent:
            due = signal_after is not None and elapsed >= signal_after
            if signal_on is not None and signal_on[0].encode() in bufs["out"]:
                due = True
            if due:
                sig = signal_on[1] if signal_on else signal.SIGTERM
                if signal_after is not None and signal_on is None:
                    sig = signal.SIGTERM
                proc.send_signal(sig)
                sent = True
        for key, _ in sel.select(timeout=0.1):
            data = os.read(key.fileobj.fileno(), 65536)
            if not data:
                sel.unregister(key.fileobj)
                open_streams -= 1
            else:
                bufs[key.data] += data
    proc.wait()
    return bufs["out"], bufs["err"]


REPORT_RE = re.compile(r"^guest: (.*)$", re.M)


def guest_net_pairs(stdout):
    """The test guest's per queue pair counts of its network test:
    {pair: (sent, received, verified)}."""
    return {int(k): tuple(map(int, v)) for k, *v in re.findall(
        r"guest: net \S+ pair=(\d+) sent=(\d+) received=(\d+) "
        r"verified=(\d+)", stdout)}


def guest_report(stdout):
    """The test guest's 'guest: ...' lines, parsed into a dict of lists."""
    report = {"memmap": [], "cpu_up": [], "pci_functions": {}, "lines": []}
    for line in REPORT_RE.findall(stdout):
        line = line.rstrip("\r")
        report["lines"].append(line)
        m = re.match(r'cmdline="(.*)"$', line)
        if m:
            report["cmdline"] = m.group(1)
            continue
        m = re.match(r"memmap entries=(\d+)$", line)
        if m:
            report["memmap_entries"] = int(m.group(1))
            continue
        m = re.match(r"memmap\[(\d+)\] addr=0x([0-9a-f]+) size=0x([0-9a-f]+) type=(\d+)", line)
        if m:
            report["memmap"].append((int(m.group(2), 16), int(m.group(3), 16),
                                     int(m.group(4))))
            continue
        # "pci 00:03.0 vendor=...", "... bar<n> addr= size= type=",
        # "... cap=0x..": one dict per function, keyed "00:03.0".
        m = re.match(r"pci ([0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) (.*)$", line)
        if m:
            fn = report["pci_functions"].setdefault(
                m.group(1), {"bars": {}, "caps": []})
            rest = m.group(2)
            b = re.match(r"bar(\d) addr=0x([0-9a-f]+) size=0x([0-9a-f]+) type=(\w+)$", rest)
            cap = re.match(r"cap=0x([0-9a-f]+)$", rest)
            if b:
                fn["bars"][int(b.group(1))] = (int(b.group(2), 16),
                                               int(b.group(3), 16), b.group(4))
            elif cap:
                fn["caps"].append(int(cap.group(1), 16))
            else:
                for w in rest.split():
                    k, _, v = w.partition("=")
                    fn[k] = v
            continue
        m = re.match(r"cpu (\d+) apic_id=(\d+) up", line)
        if m:
            report["cpu_up"].append((int(m.group(1)), int(m.group(2))))
            continue
        m = re.match(r"result=(\w+)", line)
        if m:
            report["result"] = m.group(1)
            continue
        # "key value key=value ..." lines: hello, memmap entries, ram,
        # initrd, cmos, pci devices, acpi, cpus, timer.
        words = line.split()
        if not words:
            continue
        fields = report.setdefault(words[0], {})
        for w in words[1:]:
            if "=" in w:
                k, v = w.split("=", 1)
                fields[k] = v
            else:
                fields[w] = True
    return report


def fnv1a32(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


PCI_HOLE = 3 << 30
HIGH_RAM = 4 << 30


def expected_e820(mem_bytes):
    """The memory map splitvm promises (docs/architecture.md)."""
    low = min(mem_bytes, PCI_HOLE)
    table = [
        (0x0, 0x9FC00, 1),
        (0x9FC00, 0x400, 2),
        (0xE0000, 0x20000, 2),
        (0x100000, low - 0x100000, 1),
    ]
    if mem_bytes > PCI_HOLE:
        table.append((HIGH_RAM, mem_bytes - PCI_HOLE, 1))
    return table

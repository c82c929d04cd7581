# SPDX-License-Identifier: GPL-2.0-only
"""Helpers for the splitvm-net tests: run splitvm-net (as an unprivileged
user when the test runs as root) and read its JSON statistics, and drive
an interactive dpdk-testpmd whose virtio-user ports are the frontends."""

import glob
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

NOBODY = 65534


def runtime_dirs(prefix):
    """Where DPDK's EAL may have put a --file-prefix's runtime directory."""
    bases = ["/var/run/dpdk", "/tmp/dpdk"]
    if os.environ.get("XDG_RUNTIME_DIR"):
        bases.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "dpdk"))
    return [d for b in bases for d in glob.glob(os.path.join(b, prefix))]


def drop_to_nobody():
    """preexec_fn: root -> uid/gid 65534, no groups; the capability sets
    empty themselves on that setuid."""
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    # Fields after the command: state is field 3, utime 14, stime 15.
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


class SplitvmNet:
    """splitvm-net with --stats-format json: every SIGUSR1 prints one JSON
    line on stdout, which stats() waits for."""

    def __init__(self, exe, args, unprivileged=True, inherit_fd=None,
                 wrapper=()):
        """inherit_fd=(fd, n): the child gets fd as its file descriptor n.
        wrapper: a command that execs splitvm-net (ip netns exec, setpriv);
        splitvm-net keeps its pid."""
        self.argv = list(wrapper) + [exe, "--stats-format", "json"] + args
        drop = os.geteuid() == 0 and unprivileged

        def setup():
            if inherit_fd:
                os.dup2(inherit_fd[0], inherit_fd[1])
            if drop:
                drop_to_nobody()

        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, preexec_fn=setup,
            pass_fds=(inherit_fd[0],) if inherit_fd else ())
        self.lines = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._read_out, daemon=True).start()
        self._err_reader = threading.Thread(target=self._read_err, daemon=True)
        self._err_reader.start()

    def _read_out(self):
        for line in self.proc.stdout:
            self.lines.put(line.decode(errors="replace"))
        self.lines.put(None)

    def _read_err(self):
        for line in self.proc.stderr:
            self.stderr.append(line.decode(errors="replace"))

    def wait_log(self, text, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(text in line for line in self.stderr):
                return True
            if self.proc.poll() is not None:
                self._err_reader.join(5)
                return any(text in line for line in self.stderr)
            time.sleep(0.05)
        return False

    def wait(self, timeout):
        """Wait for the process to end: its exit status, with everything
        it wrote to stderr in self.stderr (the reader thread may lag
        behind the exit), or None if it still runs after timeout."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self._err_reader.join(5)
        return self.proc.returncode

    def _next_json(self, timeout):
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            if line.startswith("{"):
                return json.loads(line)

    def stats(self, timeout=20):
        """Ask for statistics (SIGUSR1) and return them parsed."""
        while not self.lines.empty():
            self.lines.get_nowait()
        if self.proc.poll() is not None:
            return None
        self.proc.send_signal(signal.SIGUSR1)
        return self._next_json(timeout)

    def wait_stats(self, pred, timeout=30):
        """Poll statistics until pred(stats) holds; the last ones either way."""
        end = time.monotonic() + timeout
        st = None
        while time.monotonic() < end:
            st = self.stats()
            if st is not None and pred(st):
                return st, True
            time.sleep(0.1)
        return st, False

    def stop(self, timeout=30):
        """SIGTERM; returns (exit status, the final statistics)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        final = None
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = self._next_json(max(0.1, end - time.monotonic()))
            if st is None:
                break
            final = st
        try:
            self.proc.wait(timeout=max(1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.threads()
            self.proc.kill()
            self.proc.wait()
        self._err_reader.join(5)
        return self.proc.returncode, final

    def threads(self):
        """Where each thread sits, for a process that does not end."""
        base = f"/proc/{self.proc.pid}/task"
        try:
            for tid in sorted(os.listdir(base)):
                with open(f"{base}/{tid}/comm") as f:
                    comm = f.read().strip()
                with open(f"{base}/{tid}/wchan") as f:
                    wchan = f.read().strip()
                with open(f"{base}/{tid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
                print(f"    thread {tid} {comm}: state {state} wchan {wchan}")
        except OSError as e:
            print(f"    cannot list threads: {e}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def dump(self):
        print("    $ " + " ".join(self.argv))
        for line in [x for x in self.stderr
                     if "VHOST_CONFIG" not in x or "rror" in x][-60:]:
            print("    ! " + line.rstrip())


def control(path, req):
    """One splitvm-net --control request (a dict); its reply, parsed."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(json.dumps(req).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


def wait_paths(paths, timeout=60):
    """Wait until every path exists (splitvm-net's server sockets are
    created as it starts); whether they all did."""
    end = time.monotonic() + timeout
    for path in paths:
        while not os.path.exists(path) and time.monotonic() < end:
            time.sleep(0.05)
    return all(os.path.exists(path) for path in paths)


def fronts(sw, socks, features=0):
    """A Python virtio-net frontend (vu_net.NetFront) on each of sw's
    server sockets once they exist; and whether sw then reports every
    port connected (a frame sent before may find no destination)."""
    from vu_net import NetFront
    wait_paths(socks)
    fr = [NetFront(s, features) for s in socks]
    _, up = sw.wait_stats(lambda s: all(p["connected"] for p in s["ports"]))
    return fr, up


def open_sockets(proc, socks, timeout=60):
    """A peer running as root (testpmd) creates its server sockets 0755:
    let splitvm-net (uid 65534) connect to them, as a manager would
    arrange. True once every socket existed (and was opened up)."""
    end = time.monotonic() + timeout
    done = set()
    while time.monotonic() < end and len(done) < len(socks):
        for s in socks:
            if s not in done and os.path.exists(s):
                os.chmod(s, 0o777)
                done.add(s)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    return len(done) == len(socks)


PMDS = "/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0"


def testpmd_with(driver, package):
    """The path of dpdk-testpmd, or SKIP (exit 77) unless it and DPDK's
    driver (librte_net_<driver>.so.23, Debian package) are installed."""
    import svmtest
    testpmd = shutil.which("dpdk-testpmd")
    if testpmd is None:
        svmtest.skip("dpdk-testpmd is not installed (Debian package dpdk-dev)")
    if not os.path.exists(os.path.join(PMDS, f"librte_net_{driver}.so.23")):
        svmtest.skip(f"DPDK's {driver} driver is not installed "
                     f"(Debian package {package})")
    return testpmd


def port(st, i):
    return st["ports"][i]["queues"][0] | {
        "connected": st["ports"][i]["connected"]}


def counts(st, key, ports):
    """Queue 0's counter key of each port in ports."""
    return [port(st, i)[key] for i in ports]


def drops(st, ports):
    """Queue 0's non-zero drop counters of each port in ports."""
    return [{k: v for k, v in port(st, i)["drops"].items() if v}
            for i in ports]


RX_FRAME = re.compile(r"src=([0-9A-Fa-f:]{17}) - dst=([0-9A-Fa-f:]{17}) - "
                      r"(?:pool=\S+ - )?type=(0x[0-9a-f]{4}) - length=(\d+)")


def received_frames(text, rx_port=None):
    """The frames testpmd printed as received (set verbose 1) in text, as
    (src, dst, ethertype, length); only rx_port's when given."""
    frames = []
    # [before, port, body, port, body, ...]
    blocks = re.split(r"port (\d+)/queue \d+: received \d+ packets\n", text)
    for i in range(1, len(blocks) - 1, 2):
        if rx_port is not None and int(blocks[i]) != rx_port:
            continue
        frames += [(m.group(1).lower(), m.group(2).lower(), m.group(3),
                    int(m.group(4)))
                   for m in RX_FRAME.finditer(blocks[i + 1])]
    return frames


class Testpmd:
    """One interactive dpdk-testpmd with a virtio-user port per socket;
    commands go to its stdin, each answered by the next prompt."""

    PROMPT = "testpmd> "

    def __init__(self, exe, sockets, macs, prefix, logpath, servers=(),
                 vdevs=(), queues=1):
        """servers: indexes of ports where testpmd listens (virtio-user
        server=1) and splitvm-net is the client.  vdevs: devargs of other
        ports, probed first (so they are testpmd's ports 0, 1, ...; the
        virtio-user ports come after them).  queues: queue pairs of every
        virtio-user port (virtio-user queues=, testpmd --rxq/--txq)."""
        self.prefix = prefix
        eal = ["-l", "0,1", "--no-huge", "-m", "1024", "--no-pci",
               f"--file-prefix={prefix}"]
        if os.geteuid() != 0:
            eal += ["--no-shconf", "--iova-mode=va"]
        for v in vdevs:
            eal += ["--vdev", v]
        for i, (sock, mac) in enumerate(zip(sockets, macs)):
            extra = ",server=1" if i in servers else ""
            if queues > 1:
                extra += f",queues={queues}"
            eal += ["--vdev",
                    f"net_virtio_user{i},path={sock},mac={mac}{extra}"]
        # stdio to a pipe is block buffered: line buffering puts each
        # command's output before the next prompt (written unbuffered).
        self.argv = [shutil.which("stdbuf") or "stdbuf", "-oL", exe] + eal + [
            "--", "-i", "--total-num-mbufs=16384", "--no-mlockall",
            "--nb-cores=1"] + ([f"--rxq={queues}", f"--txq={queues}"]
                               if queues > 1 else [])
        self.log = open(logpath, "w+")
        self.out = ""
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            data = self.proc.stdout.read1(65536)
            if not data:
                break
            text = data.decode(errors="replace")
            self.log.write(text)
            self.log.flush()
            with self.lock:
                self.out += text

    # What a forwarding lcore prints with "set verbose 1", a whole line
    # at a time (stdout line buffered), while the command line writes
    # its prompt a character at a time: a burst received right after a
    # command can land in the middle of the prompt ("testpm" + lines +
    # "d> ").  Counted without those lines, the prompt is whole again.
    VERBOSE = re.compile(r"port \d+/queue \d+: (?:received|sent) \d+ "
                         r"packets\n|  (?:src=|ol_flags:)[^\n]*\n\n?")

    def prompts(self):
        with self.lock:
            text = self.out
        n = text.count(self.PROMPT)
        return max(n, self.VERBOSE.sub("", text).count(self.PROMPT))

    def wait_prompt(self, count, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.prompts() >= count:
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.02)
        return False

    def started(self, timeout=60):
        return self.wait_prompt(1, timeout)

    def cmd(self, line, timeout=60):
        """Run one command; returns its output (up to the next prompt)."""
        with self.lock:
            start = len(self.out)
        n = self.prompts()
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        if not self.wait_prompt(n + 1, timeout):
            raise RuntimeError(f"testpmd did not answer '{line}'")
        with self.lock:
            return self.out[start:]

    def port_stats(self):
        """{port: (rx_packets, tx_packets)} from 'show port stats all'."""
        out = self.cmd("show port stats all")
        stats = {}
        for m in re.finditer(r"NIC statistics for port (\d+)\s+#+\s*\n"
                             r"\s*RX-packets:\s*(\d+).*?"
                             r"TX-packets:\s*(\d+)", out, re.S):
            stats[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
        return stats

    def link_up(self, port, timeout=20):
        """Wait until testpmd reports port's link up (a memif port: its
        handshake is done)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if "Link status: up" in self.cmd(f"show port info {port}"):
                return True
            time.sleep(0.2)
        return False

    def send_burst(self, port, dst_mac):
        """One burst (32 frames of 64 bytes, txonly) from port to dst_mac,
        and nothing from the other ports."""
        self.cmd(f"set portlist {port}")
        self.cmd(f"set eth-peer {port} {dst_mac}")
        self.cmd("start tx_first 1")

    def quit(self, timeout=30):
        if self.proc.poll() is None:
            try:
                self.cmd("stop", timeout=10)
            except (RuntimeError, BrokenPipeError):
                pass
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.flush()
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        for d in runtime_dirs(self.prefix):
            shutil.rmtree(d, ignore_errors=True)

    def tail(self, n=40):
        with self.lock:
            return "\n".join(self.out.splitlines()[-n:])

# SPDX-License-Identifier: GPL-2.0-only
"""The processes of tools/bench_switch.py: the forwarders under test
(splitvm-net, dpdk-testpmd io, OVS-DPDK), the traffic process (one
dpdk-testpmd with two virtio-user ports) and the probes of the idle test
(a testpmd reflector, splitvm-drive --net --gap-us). Each start/stop pair
leaves nothing behind: processes reaped, DPDK runtime directories, OVS's
private directory and its tap interfaces removed."""

import json
import os
import re
import shutil
import signal
import subprocess
import time

NOBODY = 65534
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
OVS_VSWITCHD = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"
# Traffic MACs: port 0 of the traffic process is A, port 1 is B.
MAC_A, MAC_B = "02:00:00:00:00:01", "02:00:00:00:00:02"


def cpu_seconds(pid):
    """utime + stime of the whole process (every thread)."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def run_delays(pid):
    """Per thread: seconds spent runnable but not running."""
    out = {}
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    out[tid] = int(f.read().split()[1]) / 1e9
            except (OSError, IndexError, ValueError):
                pass
    except OSError:
        pass
    return out


def max_wait(before, after):
    """The largest wait of one thread between two run_delays() (the
    forwarding thread's, in practice: the others mostly sleep)."""
    return max([after[t] - before.get(t, 0) for t in after] or [0])


def drop_to_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def wait_for(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def eal(prefix, lcores):
    args = ["--lcores", lcores, "--no-huge", "-m", "1024", "--no-pci",
            f"--file-prefix={prefix}"]
    if os.geteuid() != 0:
        args += ["--no-shconf", "--iova-mode=va"]
    return args


def cleanup_runtime(prefix):
    for base in ["/var/run/dpdk", "/tmp/dpdk"]:
        shutil.rmtree(os.path.join(base, prefix), ignore_errors=True)


def stop(proc, sig=signal.SIGINT, timeout=30):
    if proc and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --nice: the niceness of every process the benchmark starts (a negative
# one needs root), so that other load on the machine preempts them less.
NICE = 0


def renice_self():
    """In a child before exec: with autogroup scheduling (Debian's
    default) niceness only orders tasks within one session's group, so
    the child gets a session, hence a group, of its own and the group the
    niceness too."""
    if not NICE:
        return
    os.setsid()
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(NICE))
    except OSError:
        pass
    os.nice(NICE)


class Proc:
    """A child with its output in a file of the benchmark's directory."""

    def __init__(self, argv, logpath, preexec=None, env=None, stdin=None):
        def pre():
            renice_self()
            if preexec:
                preexec()

        self.log = open(logpath, "w+")
        self.proc = subprocess.Popen(argv, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     stdin=stdin or subprocess.DEVNULL,
                                     preexec_fn=pre, env=env)
        self.pid = self.proc.pid
        self.final = None

    def text(self):
        if self.final is not None:
            return self.final
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def send(self, line):
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except (OSError, AttributeError):
            pass

    def close(self, sig=signal.SIGINT):
        """Stop it (once) and keep what it printed."""
        if self.proc.stdin and self.proc.poll() is None:
            self.send("quit")
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        stop(self.proc, sig)
        if self.final is None:
            self.final = self.text()
            self.log.close()


class SplitvmNet:
    """splitvm-net on CPU 0; busy=False is its default adaptive mode."""
    name = "splitvm-net"

    def __init__(self, exe, mode, busy, tmp, n, port_args=("", "")):
        """port_args: what follows each port's path (",vlan=10")."""
        self.socks = [os.path.join(tmp, f"svm{n}-{i}.sock") for i in (0, 1)]
        argv = [exe, "--mode", mode, "--cpu", "0", "--stats-format", "json",
                "--port", self.socks[0] + port_args[0],
                "--port", self.socks[1] + port_args[1]]
        if busy:
            argv.append("--busy-poll")
        pre = drop_to_nobody if os.geteuid() == 0 else None
        self.p = Proc(argv, os.path.join(tmp, f"svm{n}.log"), pre)
        self.pid = self.p.pid
        self.mark_lines = 0
        self.flood_share = 0.0

    def ready(self):
        return all(os.path.exists(s) for s in self.socks)

    def _reports(self):
        return [json.loads(ln) for ln in self.p.text().splitlines()
                if ln.startswith("{")]

    def mark(self):
        """Start of the measuring window: have the counters printed."""
        self.mark_lines = len(self._reports())
        os.kill(self.pid, signal.SIGUSR1)
        wait_for(lambda: len(self._reports()) > self.mark_lines, 5)

    def window_end(self):
        pass

    def finish(self):
        """Stop; cycles/packet over the whole run and over the window."""
        self.p.close(signal.SIGTERM)
        reps = self._reports()
        if not reps:
            return None, None
        ports = reps[-1].get("ports", [])
        rx = sum(q["rx_frames"] for p in ports for q in p["queues"])
        flooded = sum(q["flooded"] for p in ports for q in p["queues"])
        self.flood_share = flooded / rx if rx else 0.0
        last = reps[-1]["fwd"]
        whole = last["busy_cycles"] / last["frames"] if last["frames"] \
            else None
        win = None
        if len(reps) > self.mark_lines + 1:
            first = reps[self.mark_lines]["fwd"]
            df = last["frames"] - first["frames"]
            if df:
                win = (last["busy_cycles"] - first["busy_cycles"]) / df
        return whole, win


class TestpmdIo:
    """dpdk-testpmd io forwarding between two net_vhost ports on CPU 0."""
    name = "testpmd"

    def __init__(self, exe, tmp, n):
        self.socks = [os.path.join(tmp, f"tpmd{n}-{i}.sock") for i in (0, 1)]
        self.prefix = f"bench-switch-dut-{os.getpid()}-{n}"
        argv = [exe] + eal(self.prefix, "0@0,1@0") + [
            "--vdev", f"net_vhost0,iface={self.socks[0]},queues=1",
            "--vdev", f"net_vhost1,iface={self.socks[1]},queues=1",
            "--", "--forward-mode=io", "--auto-start",
            "--record-core-cycles", "--total-num-mbufs=16384",
            "--no-mlockall", "--stats-period=1"]
        self.p = Proc(argv, os.path.join(tmp, f"tpmd{n}.log"))
        self.pid = self.p.pid

    def ready(self):
        return all(os.path.exists(s) for s in self.socks)

    def mark(self):
        pass

    def window_end(self):
        pass

    def finish(self):
        """testpmd prints its cycles/packet once, for the whole run."""
        self.p.close(signal.SIGINT)
        cleanup_runtime(self.prefix)
        m = re.findall(r"CPU cycles/packet=([\d.]+)", self.p.text())
        return (float(m[-1]) if m else None), None


def ovs_missing(vswitchd):
    for path in [vswitchd, OVS_SCHEMA]:
        if not os.path.exists(path):
            return path
    for tool in ["ovsdb-tool", "ovsdb-server", "ovs-vsctl", "ovs-appctl",
                 "ovs-ofctl"]:
        if not shutil.which(tool):
            return tool
    return None


class Ovs:
    """OVS-DPDK in a private directory: its own ovsdb-server and
    ovs-vswitchd, one netdev bridge with two dpdkvhostuser ports, the PMD
    thread on CPU 0. flows='normal' leaves the bridge's NORMAL action (L2
    learning); 'inport' replaces it with in_port=1->2, 2->1."""
    name = "OVS-DPDK"

    def __init__(self, vswitchd, flows, tmp, n):
        self.dir = os.path.join(tmp, f"ovs{n}")
        os.mkdir(self.dir)
        self.env = dict(os.environ, OVS_RUNDIR=self.dir, OVS_DBDIR=self.dir,
                        OVS_LOGDIR=self.dir, OVS_SYSCONFDIR=self.dir)
        self.db = f"unix:{self.dir}/db.sock"
        self.bridge = f"svb{os.getpid() % 100000}n{n}"[:15]
        self.prefix = f"bench-switch-ovs-{os.getpid()}-{n}"
        self.had_netdev = os.path.exists("/sys/class/net/ovs-netdev")
        self.socks = [os.path.join(self.dir, p) for p in ("vh0", "vh1")]
        self.vswitchd = self.server = None
        self.pid = None
        try:
            self._start(vswitchd, flows)
        except BaseException:
            self.close()
            raise

    def _start(self, vswitchd, flows):
        self._cmd(["ovsdb-tool", "create", f"{self.dir}/conf.db",
                   OVS_SCHEMA])
        self.server = Proc(
            ["ovsdb-server", f"{self.dir}/conf.db",
             f"--remote=punix:{self.dir}/db.sock",
             f"--unixctl={self.dir}/ovsdb-server.ctl",
             f"--pidfile={self.dir}/ovsdb-server.pid",
             f"--log-file={self.dir}/ovsdb-server.log"],
            os.path.join(self.dir, "ovsdb-server.out"), env=self.env)
        if not wait_for(lambda: os.path.exists(f"{self.dir}/db.sock"), 10):
            raise RuntimeError("ovsdb-server did not start")
        extra = (f"--no-huge -m 2048 --legacy-mem --no-pci "
                 f"--file-prefix={self.prefix}")
        self.vsctl("--no-wait", "init")
        self.vsctl("--no-wait", "set", "Open_vSwitch", ".",
                   "other_config:dpdk-init=true",
                   f'other_config:dpdk-extra="{extra}"',
                   "other_config:dpdk-lcore-mask=0x2",
                   "other_config:pmd-cpu-mask=0x1")
        self.vswitchd = Proc(
            [vswitchd, self.db, f"--unixctl={self.dir}/vswitchd.ctl",
             f"--pidfile={self.dir}/vswitchd.pid",
             f"--log-file={self.dir}/vswitchd.log"],
            os.path.join(self.dir, "vswitchd.out"), env=self.env)
        self.pid = self.vswitchd.pid
        self.vsctl("--timeout=60", "add-br", self.bridge, "--", "set",
                   "bridge", self.bridge, "datapath_type=netdev",
                   "--", "add-port", self.bridge, "vh0", "--", "set",
                   "Interface", "vh0", "type=dpdkvhostuser",
                   "ofport_request=1",
                   "--", "add-port", self.bridge, "vh1", "--", "set",
                   "Interface", "vh1", "type=dpdkvhostuser",
                   "ofport_request=2")
        if flows == "inport":
            self._cmd(["ovs-ofctl", "del-flows", self.bridge])
            for a, b in ((1, 2), (2, 1)):
                self._cmd(["ovs-ofctl", "add-flow", self.bridge,
                           f"in_port={a},actions=output:{b}"])

    def _cmd(self, argv):
        r = subprocess.run(argv, env=self.env, capture_output=True,
                           text=True, timeout=90)
        if r.returncode:
            raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")
        return r.stdout

    def vsctl(self, *args):
        return self._cmd(["ovs-vsctl", f"--db={self.db}"] + list(args))

    def appctl(self, *args):
        return self._cmd(["ovs-appctl", "-t", f"{self.dir}/vswitchd.ctl"]
                         + list(args))

    def ready(self):
        return all(os.path.exists(s) for s in self.socks)

    def mark(self):
        self.appctl("dpif-netdev/pmd-stats-clear")

    def window_end(self):
        # pmd-perf-show: "Rx packets: N (K Kpps, C cycles/pkt)", where C is
        # the cycles of busy iterations (those that received) / packets.
        text = self.appctl("dpif-netdev/pmd-perf-show")
        m = re.search(r"Rx packets:\s+(\d+)\s+\(\d+ Kpps, (\d+) cycles/pkt",
                      text)
        self.win_cpp = float(m.group(2)) if m else None
        fdb = self.appctl("fdb/show", self.bridge).lower()
        self.learned = MAC_A in fdb and MAC_B in fdb

    def finish(self):
        self.close()
        return None, getattr(self, "win_cpp", None)

    def close(self):
        if self.vswitchd and self.vswitchd.proc.poll() is None:
            try:
                self.appctl("exit", "--cleanup")
                self.vswitchd.proc.wait(timeout=30)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        if self.vswitchd:
            self.vswitchd.close(signal.SIGTERM)
        if self.server:
            self.server.close(signal.SIGTERM)
        # Normally gone with "exit --cleanup"; never leave them behind.
        for dev in [self.bridge] + ([] if self.had_netdev
                                    else ["ovs-netdev"]):
            if os.path.exists(f"/sys/class/net/{dev}"):
                subprocess.run(["ip", "link", "del", dev],
                               capture_output=True)
        cleanup_runtime(self.prefix)
        shutil.rmtree(self.dir, ignore_errors=True)


class Traffic:
    """One dpdk-testpmd, two virtio-user ports (MAC_A on the forwarder's
    port 0, MAC_B on port 1), both lcores on CPU 1. kind: 'flowgen'
    (testpmd's flowgen: open loop, every frame from 00:01:02:03:04:00 to
    00:01:02:03:04:01 whatever the port), 'loop' (four bursts per port sent
    A->B and B->A at start, then macswap sends each frame back out of the
    port it came in: a closed loop of 256 frames with real, distinct MACs),
    'silent' (rxonly: connected, sends nothing). The loop runs testpmd
    interactively: the frames are sent only once the forwarder has had a
    second to set its ports up (a frame it drops is gone from the loop),
    and tick() asks for the port statistics once a second."""

    def __init__(self, exe, kind, size, socks, tmp, n, packed=False):
        self.prefix = f"bench-switch-drv-{os.getpid()}-{n}"
        ring = ",packed_vq=1" if packed else ""
        argv = [shutil.which("stdbuf") or "stdbuf", "-oL", exe] + \
            eal(self.prefix, "0@1,1@1") + [
            "--vdev", f"net_virtio_user0,path={socks[0]},mac={MAC_A}{ring}",
            "--vdev", f"net_virtio_user1,path={socks[1]},mac={MAC_B}{ring}",
            "--", f"--txpkts={size}", "--total-num-mbufs=16384",
            "--no-mlockall", "--nb-cores=1"]
        self.interactive = kind == "loop"
        if kind == "flowgen":
            argv += ["--forward-mode=flowgen", "--auto-start",
                     "--stats-period=1"]
        elif kind == "silent":
            argv += ["--forward-mode=rxonly", "--auto-start",
                     "--stats-period=1"]
        else:
            argv += ["-i", "--forward-mode=macswap", "--port-topology=loop",
                     f"--eth-peer=0,{MAC_B}", f"--eth-peer=1,{MAC_A}"]
        self.p = Proc(argv, os.path.join(tmp, f"drv{n}.log"),
                      stdin=subprocess.PIPE if self.interactive else None)
        if self.interactive:
            time.sleep(1.5)
            self.p.send("start tx_first 4")

    def tick(self):
        if self.interactive:
            self.p.send("show port stats all")

    def close(self):
        """Stop; the per-second received rates (both ports summed)."""
        self.p.close(signal.SIGINT)
        cleanup_runtime(self.prefix)
        rates = [int(x) for x in re.findall(r"Rx-pps:\s+(\d+)",
                                            self.p.text())]
        return [rates[i] + rates[i + 1] for i in range(0, len(rates) - 1, 2)]


class Reflector:
    """testpmd, one virtio-user port on the forwarder's port 1, macswap
    back out of the same port (CPU 1)."""

    def __init__(self, exe, sock, tmp, n):
        self.prefix = f"bench-switch-refl-{os.getpid()}-{n}"
        argv = [exe] + eal(self.prefix, "0@1,1@1") + [
            "--vdev", f"net_virtio_user0,path={sock},mac={MAC_B}",
            "--", "--forward-mode=macswap", "--port-topology=loop",
            "--auto-start", "--total-num-mbufs=16384", "--no-mlockall",
            "--stats-period=1", "--nb-cores=1"]
        self.p = Proc(argv, os.path.join(tmp, f"refl{n}.log"))

    def close(self):
        self.p.close(signal.SIGINT)
        cleanup_runtime(self.prefix)


def drive_gap(exe, sock, gap_us, count, size, timeout):
    """splitvm-drive --net --gap-us: round trips of frames each sent after
    gap_us of silence. Returns ({p50, min, max, n, lost} in µs, None) or
    (None, why)."""
    argv = [exe, "--net", "-s", sock, "--gap-us", str(gap_us), "--count",
            str(count), "--frame-size", str(size), "--wait", "event",
            "--cpu", "1", "--json"]
    try:
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout,
                           preexec_fn=renice_self)
    except subprocess.TimeoutExpired:
        return None, "splitvm-drive timed out"
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return None, (r.stderr.strip().splitlines() or ["no output"])[-1]
    out = json.loads(lines[-1])
    if out.get("error"):
        return None, out["error"]
    rtt = out["rtt_ns"]
    if not rtt["count"]:
        return None, f"no frame came back ({out['lost']} lost)"
    return {"p50": rtt["p50"] / 1e3, "min": rtt["min"] / 1e3,
            "max": rtt["max"] / 1e3, "n": rtt["count"],
            "lost": out["lost"]}, None

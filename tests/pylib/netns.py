# SPDX-License-Identifier: GPL-2.0-only
"""Network namespaces for the splitvm-net uplink tests (root only): run
commands in one, send ICMP echo requests from one and check the replies,
and check that every thread of a process is jailed."""

import os
import shutil
import subprocess
import sys

import netbe

# Run in a namespace as root: raw ICMP (the kernel resolves the address
# with ARP first). Prints "ok N" with the number of replies that came
# from the address with the same identifier, sequence and payload.
ECHO = r"""
import os, socket, struct, sys, time
dst, n = sys.argv[1], int(sys.argv[2])
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack(f"!{len(b)//2}H", b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
sk = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
sk.settimeout(3)
ident, good = os.getpid() & 0xffff, 0
for seq in range(1, n + 1):
    payload = bytes((seq * 7 + i) & 0xff for i in range(56))
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + payload), ident, seq) + payload
    sk.sendto(pkt, (dst, 0))
    end = time.monotonic() + 3
    while time.monotonic() < end:
        try:
            data, addr = sk.recvfrom(2048)
        except socket.timeout:
            break
        ihl = (data[0] & 0xf) * 4
        t, code, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if t == 0 and rid == ident and rseq == seq:
            if data[ihl + 8:] == payload and addr[0] == dst:
                good += 1
            break
print("ok", good)
"""


class Netns:
    def __init__(self, name):
        self.name = name
        subprocess.run(["ip", "netns", "add", name], check=True)
        # No IPv6 chatter (router solicitations, MLD) on new interfaces.
        for conf in ("default", "all"):
            self.run(["sysctl", "-q", "-w",
                      f"net.ipv6.conf.{conf}.disable_ipv6=1"])

    def run(self, cmd, **kw):
        return subprocess.run(["ip", "netns", "exec", self.name] + cmd,
                              capture_output=True, text=True, **kw)

    def prefix(self):
        """A command prefix that runs the rest in the namespace."""
        return ["ip", "netns", "exec", self.name]

    def echo(self, dst, n):
        """n echo requests to dst; 'ok N' (N good replies) or the error."""
        r = self.run([sys.executable, "-c", ECHO, dst, str(n)], timeout=60)
        return r.stdout.strip() or r.stderr.strip()

    def delete(self):
        subprocess.run(["ip", "netns", "del", self.name])


def unprivileged_with(cap):
    """setpriv prefix: uid/gid 65534, no groups, cap as the only
    (ambient) capability, as a launcher would start splitvm-net."""
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            f"--inh-caps=+{cap}", f"--ambient-caps=+{cap}"]


def threads_not_jailed(pid):
    """Threads of pid with a capability left, or without seccomp or
    no_new_privs: [] when all are jailed."""
    bad = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            st = netbe.proc_status(f"{pid}/task/{tid}")
        except FileNotFoundError:
            continue
        for k in ("CapEff", "CapPrm", "CapAmb", "CapInh"):
            if int(st[k], 16):
                bad.append(f"{tid} {k}={st[k]}")
        if st["Seccomp"] != "2" or st["NoNewPrivs"] != "1":
            bad.append(f"{tid} seccomp {st['Seccomp']}")
    return bad


def start_icmpecho(c, testpmd, sw, vsock, mac, prefix, logpath):
    """dpdk-testpmd answering ARP and ICMP echo (icmpecho) on a
    virtio-user port with mac on splitvm-net's vhost port vsock; checked
    with c until both of splitvm-net's ports are up. The Testpmd, or None
    (c.finish() was called) if it did not start."""
    tp = netbe.Testpmd(testpmd, [vsock], [mac], prefix, logpath)
    if not c.check(tp.started(), "testpmd started (virtio-user)"):
        print(tp.tail())
        tp.quit()
        c.finish()
        return None
    tp.cmd("set fwd icmpecho")
    tp.cmd("start")
    _, ok = sw.wait_stats(lambda s: all(p["connected"] for p in s["ports"]))
    c.check(ok, "vhost port and uplink up")
    return tp


def check_echo_counts(c, sw, requests):
    """splitvm-net's port 0 (vhost, testpmd icmpecho) and port 1 (the
    uplink) after at least requests frames that all got an answer."""
    st = sw.stats()
    if not c.check(st is not None, "statistics answered"):
        return
    vh, up = netbe.port(st, 0), netbe.port(st, 1)
    c.check(up["rx_frames"] >= requests,
            "the uplink received ARP and the requests", str(up["rx_frames"]))
    c.equal(vh["tx_frames"], up["rx_frames"],
            "every frame from the uplink reached the vhost port")
    c.equal(up["tx_frames"], vh["rx_frames"],
            "every answer went out on the uplink")
    c.check(vh["rx_frames"] >= requests, "testpmd answered every request",
            str(vh["rx_frames"]))
    return st


PMDS = "/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0"


def skip_unless_usable(driver, package):
    """SKIP (exit 77) unless the test can create namespaces and run an
    unprivileged splitvm-net with one capability, and testpmd and DPDK's
    driver (librte_net_<driver>.so.23, Debian package) are installed.
    Returns the path of dpdk-testpmd."""
    import svmtest
    testpmd = shutil.which("dpdk-testpmd")
    if os.geteuid() != 0:
        svmtest.skip("needs root to create network namespaces")
    for tool in ("ip", "setpriv"):
        if shutil.which(tool) is None:
            svmtest.skip(f"{tool} is not installed")
    if testpmd is None:
        svmtest.skip("dpdk-testpmd is not installed (Debian package dpdk-dev)")
    if not os.path.exists(os.path.join(PMDS, f"librte_net_{driver}.so.23")):
        svmtest.skip(f"DPDK's {driver} driver is not installed "
                     f"(Debian package {package})")
    return testpmd

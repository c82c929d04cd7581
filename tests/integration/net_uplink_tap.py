#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-net with a net_tap uplink to a kernel network stack: the test
creates a network namespace, starts splitvm-net in it as uid 65534 with
CAP_NET_ADMIN as its only capability (ambient, as a launcher would give
it), and a tap interface appears there.  Once the tap is open every
thread of splitvm-net must have no capability left and run under the
seccomp filter (kill).  dpdk-testpmd in icmpecho mode answers ARP and
ICMP echo on a virtio-user port of splitvm-net's vhost port; from the
namespace, echo requests with a payload of their own are sent to its
address through the kernel (ARP resolution included) and every reply
must come back with the same identifier, sequence and payload.
splitvm-net's counters must agree, and after SIGTERM (exit 0) the tap
interface is gone.  Needs root (network namespaces), /dev/net/tun and
DPDK's tap driver; otherwise SKIP."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import svmtest  # noqa: E402

TESTPMD_MAC = "02:00:00:00:00:41"
HOST_IP, PEER_IP = "10.77.0.1", "10.77.0.2"
ECHOES = 5
IFACE = "svtap0"

exe = sys.argv[1]
c = svmtest.Checker("net_uplink_tap")
TESTPMD = shutil.which("dpdk-testpmd")
if os.geteuid() != 0:
    svmtest.skip("needs root to create a network namespace")
for tool in ("ip", "setpriv"):
    if shutil.which(tool) is None:
        svmtest.skip(f"{tool} is not installed")
if TESTPMD is None:
    svmtest.skip("dpdk-testpmd is not installed (Debian package dpdk-dev)")
if not os.path.exists("/dev/net/tun"):
    svmtest.skip("no /dev/net/tun")
if not os.path.exists("/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0/"
                      "librte_net_tap.so.23"):
    svmtest.skip("DPDK's tap driver is not installed "
                 "(Debian package librte-net-tap23)")

NS = f"svnet-tap-{os.getpid()}"

# Run in the namespace as root: raw ICMP, the kernel resolves the
# address with ARP first. Prints "ok N" with the number of good replies.
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


def ns(cmd, **kw):
    return subprocess.run(["ip", "netns", "exec", NS] + cmd,
                          capture_output=True, text=True, **kw)


def all_threads_jailed(pid):
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


subprocess.run(["ip", "netns", "add", NS], check=True)
sw = tp = None
try:
    # No IPv6 chatter (router solicitations, MLD) on the new interface.
    for conf in ("default", "all"):
        ns(["sysctl", "-q", "-w", f"net.ipv6.conf.{conf}.disable_ipv6=1"])
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)
        vsock = os.path.join(tmp, "vhost.sock")
        uplink = f"net_tap0,iface={IFACE},name=tap"
        sw = netbe.SplitvmNet(
            exe, ["--port", vsock, "--uplink", uplink], unprivileged=False,
            wrapper=["ip", "netns", "exec", NS, "setpriv", "--reuid=65534",
                     "--regid=65534", "--clear-groups",
                     "--inh-caps=+net_admin", "--ambient-caps=+net_admin"])
        if not c.check(sw.wait_log("forwarding: 2 ports, mode switch"),
                       "splitvm-net started in the namespace with a tap "
                       "uplink"):
            sw.dump()
            c.finish()
        c.check(sw.wait_log("keeping net_admin until the devices are open"),
                "it kept CAP_NET_ADMIN for the tap")
        c.check(sw.wait_log("every thread dropped its capabilities"),
                "... and dropped it once the tap was open")
        c.check(sw.wait_log("its queue fd wakes splitvm-net when idle"),
                "idle, it sleeps on the tap's queue fd (no timer)")
        uids = netbe.proc_status(sw.proc.pid)["Uid"].split()
        c.check(all(u == "65534" for u in uids), "runs as uid 65534",
                str(uids))
        c.equal(all_threads_jailed(sw.proc.pid), [],
                "every thread: no capability, seccomp, no_new_privs")
        link = ns(["ip", "-o", "link", "show", IFACE])
        c.check(link.returncode == 0 and "UP" in link.stdout,
                f"{IFACE} exists in the namespace and is up",
                link.stdout + link.stderr)
        ns(["ip", "addr", "add", f"{HOST_IP}/24", "dev", IFACE])

        tp = netbe.Testpmd(TESTPMD, [vsock], [TESTPMD_MAC],
                           f"splitvm-net-tap-{os.getpid()}",
                           os.path.join(tmp, "testpmd.log"))
        if not c.check(tp.started(), "testpmd started (virtio-user)"):
            print(tp.tail())
            c.finish()
        tp.cmd("set fwd icmpecho")
        tp.cmd("start")
        st, ok = sw.wait_stats(lambda s: all(p["connected"]
                                             for p in s["ports"]))
        c.check(ok, "vhost port and tap uplink up")

        r = ns([sys.executable, "-c", ECHO, PEER_IP, str(ECHOES)],
               timeout=60)
        if not c.equal(r.stdout.strip(), f"ok {ECHOES}",
                       f"{ECHOES} echo replies with their payload through "
                       "the switch"):
            print(r.stderr)
        # Silent: asleep on the kick eventfd and the tap's queue fd; the
        # next request wakes it.
        time.sleep(0.5)
        t0, c0 = time.monotonic(), netbe.cpu_seconds(sw.proc.pid)
        time.sleep(2)
        t1, c1 = time.monotonic(), netbe.cpu_seconds(sw.proc.pid)
        share = (c1 - c0) / (t1 - t0)
        c.check(share < 0.25, "idle with a tap uplink: well under a busy CPU",
                f"{share:.2f} of a CPU")
        print(f"  info idle CPU share, vhost port + tap uplink: {share:.3f}")
        r = ns([sys.executable, "-c", ECHO, PEER_IP, "2"], timeout=60)
        c.equal(r.stdout.strip(), "ok 2", "echoes after idle answered")
        tp.cmd("stop")
        st = sw.stats()
        if c.check(st is not None, "statistics answered"):
            vh, up = netbe.port(st, 0), netbe.port(st, 1)
            # ARP request + echo requests in, ARP reply + echo replies out.
            c.check(up["rx_frames"] >= ECHOES + 3,
                    "the tap uplink received the requests",
                    str(up["rx_frames"]))
            c.equal(vh["tx_frames"], up["rx_frames"],
                    "every frame from the tap reached the vhost port")
            c.equal(up["tx_frames"], vh["rx_frames"],
                    "every answer reached the tap")
            c.check(vh["rx_frames"] >= ECHOES + 3,
                    "testpmd answered ARP and every echo",
                    str(vh["rx_frames"]))
            c.equal(st["mac_entries"], 2, "both stations learned")
        c.check(sw.proc.poll() is None, "splitvm-net alive under seccomp")
        tp.quit()
        tp = None
        status, _ = sw.stop()
        c.equal(status, 0, "splitvm-net exits 0 on SIGTERM")
        c.check(not netbe.runtime_dirs(f"splitvm-net-{sw.proc.pid}"),
                "splitvm-net's EAL runtime directory removed")
        sw = None
        gone = ns(["ip", "link", "show", IFACE])
        c.check(gone.returncode != 0, f"{IFACE} removed with splitvm-net")
finally:
    if tp:
        tp.quit()
    if sw:
        sw.dump()
        sw.kill()
    subprocess.run(["ip", "netns", "del", NS])

c.finish()

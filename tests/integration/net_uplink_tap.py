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
splitvm-net runs two forwarding threads (--threads 2): the tap's queue
pair and the vhost port's are dealt one to each, so the echo crosses
threads, and the second thread (an EAL lcore) must have dropped its
capabilities too.  splitvm-net's counters must agree, and after SIGTERM (exit 0) the tap
interface is gone.  Needs root (network namespaces), /dev/net/tun and
DPDK's tap driver; otherwise SKIP."""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import netns  # noqa: E402
import svmtest  # noqa: E402

TESTPMD_MAC = "02:00:00:00:00:41"
HOST_IP, PEER_IP = "10.77.0.1", "10.77.0.2"
ECHOES = 5
IFACE = "svtap0"

exe = sys.argv[1]
c = svmtest.Checker("net_uplink_tap")
TESTPMD = netns.skip_unless_usable("tap", "librte-net-tap23")
if not os.path.exists("/dev/net/tun"):
    svmtest.skip("no /dev/net/tun")

ns = netns.Netns(f"svnet-tap-{os.getpid()}")
sw = tp = None
try:
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)
        vsock = os.path.join(tmp, "vhost.sock")
        uplink = f"net_tap0,iface={IFACE},name=tap"
        sw = netbe.SplitvmNet(
            exe, ["--threads", "2", "--port", vsock, "--uplink", uplink],
            unprivileged=False,
            wrapper=ns.prefix() + netns.unprivileged_with("net_admin"))
        if not c.check(sw.wait_log("forwarding: 2 ports, mode switch, "
                                   "sleeping when idle, 2 threads"),
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
        c.equal(netns.threads_not_jailed(sw.proc.pid), [],
                "every thread: no capability, seccomp, no_new_privs")
        link = ns.run(["ip", "-o", "link", "show", IFACE])
        c.check(link.returncode == 0 and "UP" in link.stdout,
                f"{IFACE} exists in the namespace and is up",
                link.stdout + link.stderr)
        ns.run(["ip", "addr", "add", f"{HOST_IP}/24", "dev", IFACE])

        tp = netns.start_icmpecho(c, TESTPMD, sw, vsock, TESTPMD_MAC,
                                  f"splitvm-net-tap-{os.getpid()}",
                                  os.path.join(tmp, "testpmd.log"))
        c.equal(ns.echo(PEER_IP, ECHOES), f"ok {ECHOES}",
                f"{ECHOES} echo replies with their payload through the "
                "switch")
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
        c.equal(ns.echo(PEER_IP, 2), "ok 2", "echoes after idle answered")
        tp.cmd("stop")
        # ARP request and the echo requests in, the answers out.
        st = netns.check_echo_counts(c, sw, ECHOES + 3)
        if st:
            c.equal(st["mac_entries"], 2, "both stations learned")
        c.check(sw.proc.poll() is None, "splitvm-net alive under seccomp")
        tp.quit()
        tp = None
        status, _ = sw.stop()
        c.equal(status, 0, "splitvm-net exits 0 on SIGTERM")
        c.check(not netbe.runtime_dirs(f"splitvm-net-{sw.proc.pid}"),
                "splitvm-net's EAL runtime directory removed")
        sw = None
        gone = ns.run(["ip", "link", "show", IFACE])
        c.check(gone.returncode != 0, f"{IFACE} removed with splitvm-net")
finally:
    if tp:
        tp.quit()
    if sw:
        sw.dump()
        sw.kill()
    ns.delete()

c.finish()

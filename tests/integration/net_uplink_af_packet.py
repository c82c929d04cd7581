#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-net with a net_af_packet uplink on one end of a veth pair: the
test creates two network namespaces joined by the pair, puts splitvm-net
in the first as uid 65534 with CAP_NET_RAW and CAP_NET_ADMIN as its
only capabilities (ambient), which it keeps only until the raw socket is
open and started: then every thread has no capability and runs under
the seccomp filter (kill).
dpdk-testpmd in icmpecho mode answers behind splitvm-net's vhost port;
echo requests with their own payload from the second namespace must all
come back intact, and splitvm-net's counters must agree.  Needs root and DPDK's af_packet driver;
otherwise SKIP."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import netns  # noqa: E402
import svmtest  # noqa: E402

TESTPMD_MAC = "02:00:00:00:00:51"
HOST_IP, PEER_IP = "10.78.0.1", "10.78.0.2"
ECHOES = 5

exe = sys.argv[1]
c = svmtest.Checker("net_uplink_af_packet")
TESTPMD = netns.skip_unless_usable("af_packet", "librte-net-af-packet23")

sw_ns = netns.Netns(f"svnet-afp-{os.getpid()}")
host_ns = netns.Netns(f"svnet-afh-{os.getpid()}")
sw = tp = None
try:
    r = sw_ns.run(["ip", "link", "add", "wire0", "type", "veth", "peer",
                   "name", "wire1", "netns", host_ns.name])
    if r.returncode != 0:
        svmtest.skip(f"cannot create a veth pair: {r.stderr.strip()}")
    sw_ns.run(["ip", "link", "set", "wire0", "up"])
    host_ns.run(["ip", "link", "set", "wire1", "up"])
    host_ns.run(["ip", "addr", "add", f"{HOST_IP}/24", "dev", "wire1"])
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)
        vsock = os.path.join(tmp, "vhost.sock")
        sw = netbe.SplitvmNet(
            exe, ["--port", vsock, "--uplink",
                  "net_af_packet0,iface=wire0,name=wire"],
            unprivileged=False,
            wrapper=sw_ns.prefix() +
            netns.unprivileged_with("net_raw,+net_admin"))
        if not c.check(sw.wait_log("forwarding: 2 ports, mode switch"),
                       "splitvm-net started with an af_packet uplink"):
            sw.dump()
            c.finish()
        c.check(sw.wait_log("keeping net_raw until the devices are open")
                and sw.wait_log("keeping net_admin until"),
                "it kept CAP_NET_RAW and CAP_NET_ADMIN for the raw socket")
        c.check(sw.wait_log("every thread dropped its capabilities"),
                "... and dropped it once the socket was open")
        c.equal(netbe.proc_status(sw.proc.pid)["Uid"].split(),
                ["65534"] * 4, "runs as uid 65534")
        c.equal(netns.threads_not_jailed(sw.proc.pid), [],
                "every thread: no capability, seccomp, no_new_privs")

        tp = netns.start_icmpecho(c, TESTPMD, sw, vsock, TESTPMD_MAC,
                                  f"splitvm-net-afp-{os.getpid()}",
                                  os.path.join(tmp, "testpmd.log"))
        c.equal(host_ns.echo(PEER_IP, ECHOES), f"ok {ECHOES}",
                f"{ECHOES} echo replies with their payload over the wire")
        tp.cmd("stop")
        # ARP request and the echo requests in, the answers out.
        netns.check_echo_counts(c, sw, ECHOES + 1)
        c.check(sw.proc.poll() is None, "splitvm-net alive under seccomp")
        tp.quit()
        tp = None
        status, _ = sw.stop()
        c.equal(status, 0, "splitvm-net exits 0 on SIGTERM")
        sw = None
finally:
    if tp:
        tp.quit()
    if sw:
        sw.dump()
        sw.kill()
    sw_ns.delete()
    host_ns.delete()

c.finish()

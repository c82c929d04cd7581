#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-net with a DPDK uplink: a net_memif port (client) whose far
end is a net_memif port (server) of dpdk-testpmd, next to a vhost-user
port whose frontend is a virtio-user port of the same testpmd, so one
process sends and receives on both sides of the switch.  splitvm-net
runs as uid 65534 (when the test runs as root) with no capabilities and
the default seccomp filter (kill).

Switch mode: a burst from the virtio-user port to the memif port's MAC
is flooded to the uplink while unknown; the memif side answers to the
virtio-user MAC (learned on the vhost port) and, learned in turn, the
next burst goes to the uplink as unicast; a frame for a station learned
on the uplink that arrives on the uplink is dropped (hairpin).  testpmd
prints every frame it receives (verbose rxonly): source, destination,
EtherType and length are checked frame by frame, and its port counters
must match splitvm-net's.  Idle with the uplink polled on a timer,
splitvm-net must stay well under a busy CPU.  Then a second splitvm-net
in xconnect mode pairs the vhost port with the uplink: frames cross
whatever their destination.  Last, splitvm-net is the memif server
(role=server) and testpmd's memif port the client.  SIGTERM: exit 0,
the memif and vhost connections closed.  With NET_UPLINK_THREADS=N all of
it runs with N forwarding threads."""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import svmtest  # noqa: E402

BURST = 32
SECCOMP = os.environ.get("NET_UPLINK_SECCOMP", "kill").split(",")
SECCOMP = ["--seccomp", SECCOMP[0]]
# NET_UPLINK_THREADS=2 (net_uplink_memif_threads): the vhost port's pair
# and the uplink's on different forwarding threads, so every frame
# crosses threads and the memif client restart runs beside the other
# thread's transmits.
THREADS = os.environ.get("NET_UPLINK_THREADS")
THREADS = ["--threads", THREADS] if THREADS else []
MEMIF_MAC = "02:00:00:00:00:20"     # testpmd port 0: the uplink's far end
VIRTIO_MAC = "02:00:00:00:00:21"    # testpmd port 1: the vhost port's frontend
OTHER_MAC = "02:00:00:00:00:99"
BCAST = "ff:ff:ff:ff:ff:ff"
TP_MEMIF, TP_VIRTIO = 0, 1          # testpmd port numbers
SW_VHOST, SW_UPLINK = 0, 1          # splitvm-net port numbers

exe = sys.argv[1]
c = svmtest.Checker("net_uplink_memif")
TESTPMD = netbe.testpmd_with("memif", "librte-net-memif23")


def counts(st, key):
    return netbe.counts(st, key, (SW_VHOST, SW_UPLINK))


def drops(st):
    return netbe.drops(st, (SW_VHOST, SW_UPLINK))


def received(text, port):
    return netbe.received_frames(text, port)


def drain(tp, port):
    """Let testpmd's rxonly read what port received (the burst was sent
    with only the sending port forwarding); the frames it printed."""
    with tp.lock:
        start = len(tp.out)
    tp.cmd(f"set portlist {port}")
    tp.cmd("start")
    end = time.monotonic() + 10
    while time.monotonic() < end:
        with tp.lock:
            if len(received(tp.out[start:], port)) >= BURST:
                break
        time.sleep(0.05)
    time.sleep(0.2)     # and nothing more
    tp.cmd("stop")
    with tp.lock:
        return received(tp.out[start:], port)


def step(sw, tp, what, src, dst_mac, want_rx, want_tx, want_flooded,
         want_drops=None, rx_port=None, want_src=None):
    """testpmd port src sends a burst to dst_mac; splitvm-net's counters
    (vhost port, uplink) must become want_*, and testpmd's port rx_port
    must print BURST frames from want_src to dst_mac."""
    tp.send_burst(src, dst_mac)
    sw.wait_stats(lambda s: counts(s, "rx_frames") == want_rx and
                  counts(s, "tx_frames") == want_tx)
    time.sleep(0.3)     # let a wrong extra copy show up
    tp.cmd("stop")
    st = sw.stats()
    if not c.check(st is not None, f"{what}: statistics answered"):
        return None
    good = c.equal(counts(st, "rx_frames"), want_rx,
                   f"{what}: frames received (vhost port, uplink)")
    good &= c.equal(counts(st, "tx_frames"), want_tx,
                    f"{what}: frames delivered (vhost port, uplink)")
    good &= c.equal(counts(st, "flooded"), want_flooded,
                    f"{what}: frames flooded")
    good &= c.equal(drops(st), want_drops or [{}, {}], f"{what}: drops")
    if rx_port is not None:
        frames = drain(tp, rx_port)
        good &= c.equal(len(frames), BURST,
                        f"{what}: testpmd port {rx_port} printed {BURST} "
                        "frames")
        good &= c.check(all(f == (want_src, dst_mac, "0x0800", 64)
                            for f in frames),
                        f"{what}: every frame from {want_src} to {dst_mac}, "
                        "IPv4, 64 bytes", str(frames[:2]))
    if not good:
        print(tp.tail())
    return st


def memif_up(tp, timeout=20):
    """testpmd's memif port 0 has its link up (the handshake is done)."""
    return tp.link_up(TP_MEMIF, timeout)


def start_switch(args, what):
    sw = netbe.SplitvmNet(exe, args + SECCOMP + THREADS)
    if not c.check(sw.wait_log(what), f"splitvm-net started: {what}"):
        sw.dump()
    if THREADS:
        c.check(sw.wait_log(f"{THREADS[1]} threads", timeout=5),
                f"... with {THREADS[1]} forwarding threads")
    return sw


def stop_switch(sw, what):
    status, final = sw.stop()
    c.equal(status, 0, f"{what}: splitvm-net exits 0 on SIGTERM "
            "(uplink closed under the seccomp filter)")
    c.check(not netbe.runtime_dirs(f"splitvm-net-{sw.proc.pid}"),
            f"{what}: splitvm-net's EAL runtime directory removed")
    if c.failed:
        sw.dump()
    return final


# A driver that does not exist: refused at start, exit 1, and said so.
bad = netbe.SplitvmNet(exe, ["--uplink", "net_nosuchdriver0"])
if bad.wait(60) is None:
    bad.kill()
c.equal(bad.proc.returncode, 1, "an uplink nobody drives: exit 1")
c.check(bad.wait_log("no such driver installed?", timeout=5),
        "... saying why")

with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    msock = os.path.join(tmp, "memif.sock")
    vsock = os.path.join(tmp, "vhost.sock")
    uplink = f"net_memif0,socket={msock},socket-abstract=no,name=up"
    prefix = f"splitvm-net-uplink-{os.getpid()}"


    def memif_server_testpmd(name):
        """testpmd listening on both: memif (probed first, so splitvm-net's
        client finds it) and virtio-user in server mode, which waits in
        its probe until splitvm-net's vhost client port connects."""
        return netbe.Testpmd(TESTPMD, [vsock], [VIRTIO_MAC], prefix + name,
                             os.path.join(tmp, f"testpmd{name}.log"),
                             servers=(0,),
                             vdevs=[f"net_memif0,role=server,socket={msock},"
                                    f"socket-abstract=no,mac={MEMIF_MAC}"])

    tp = memif_server_testpmd("")
    sw = None
    try:
        if not c.check(netbe.open_sockets(tp.proc, [msock, vsock]),
                       "testpmd listens on its memif and vhost-user sockets"):
            print(tp.tail())
            c.finish()
        sw = start_switch(["--port", vsock + ",client", "--uplink", uplink],
                          "forwarding: 2 ports, mode switch")
        if not c.check(tp.started(), "testpmd started (memif + virtio-user)"):
            print(tp.tail())
            c.finish()
        status = netbe.proc_status(sw.proc.pid)
        c.check(all(u != "0" for u in status["Uid"].split()),
                "splitvm-net runs without uid 0", status["Uid"])
        c.equal((status["CapEff"], status["CapPrm"]),
                ("0000000000000000", "0000000000000000"),
                "splitvm-net has no capabilities")
        c.equal(status["Seccomp"], "2", "splitvm-net is under seccomp")
        c.check(sw.wait_log("[up] uplink net_memif0"), "uplink named 'up'")
        tp.cmd("set fwd rxonly")
        tp.cmd("set verbose 1")
        st, ok = sw.wait_stats(lambda s: all(p["connected"]
                                             for p in s["ports"]))
        c.check(ok, "vhost port and uplink up")
        if st:
            up = st["ports"][SW_UPLINK]
            c.equal((up["name"], up["role"], up["devargs"]),
                    ("up", "uplink", uplink.rsplit(",", 1)[0]),
                    "the uplink in the statistics")
        c.check(memif_up(tp), "testpmd's memif port is connected")

        # vhost -> unknown MAC: flooded, the only other port is the uplink.
        step(sw, tp, "vhost port to an unknown station", TP_VIRTIO, MEMIF_MAC,
             [32, 0], [0, 32], [32, 0], rx_port=TP_MEMIF,
             want_src=VIRTIO_MAC)
        # uplink -> the virtio MAC learned on the vhost port: unicast.
        step(sw, tp, "uplink to a station learned on the vhost port",
             TP_MEMIF, VIRTIO_MAC, [32, 32], [32, 32], [32, 0],
             rx_port=TP_VIRTIO, want_src=MEMIF_MAC)
        # vhost -> the memif MAC, now learned on the uplink: not flooded.
        st = step(sw, tp, "vhost port to a station learned on the uplink",
                  TP_VIRTIO, MEMIF_MAC, [64, 32], [32, 64], [32, 0],
                  rx_port=TP_MEMIF, want_src=VIRTIO_MAC)
        if st:
            c.equal(st["mac_entries"], 2, "two stations learned, one behind "
                    "the uplink")
        # uplink -> a station learned on the uplink itself: hairpin.
        step(sw, tp, "uplink to its own station", TP_MEMIF, MEMIF_MAC,
             [64, 64], [32, 64], [32, 0], [{}, {"hairpin": 32}])
        # uplink -> broadcast: flooded to the vhost port.
        step(sw, tp, "uplink broadcast", TP_MEMIF, BCAST,
             [64, 96], [64, 64], [32, 32], [{}, {"hairpin": 32}],
             rx_port=TP_VIRTIO, want_src=MEMIF_MAC)

        got = tp.port_stats()
        c.equal(got.get(TP_MEMIF), (64, 96),
                "testpmd memif port: received 64, sent 96")
        c.equal(got.get(TP_VIRTIO), (64, 64),
                "testpmd virtio-user port: received 64, sent 64")

        # Silent: the forwarder sleeps, waking every --uplink-poll-us to
        # look at the memif ring (memif gives no rx interrupt).
        time.sleep(0.5)
        t0, c0 = time.monotonic(), netbe.cpu_seconds(sw.proc.pid)
        time.sleep(3)
        t1, c1 = time.monotonic(), netbe.cpu_seconds(sw.proc.pid)
        share = (c1 - c0) / (t1 - t0)
        c.check(share < 0.25, "idle with a polled uplink: well under a "
                "busy CPU", f"{share:.2f} of a CPU")
        print(f"  info idle CPU share, vhost port + memif uplink: {share:.3f}")
        # ... and still forwards the first frame after idle.
        step(sw, tp, "after idle", TP_MEMIF, VIRTIO_MAC,
             [64, 128], [96, 64], [32, 32], [{}, {"hairpin": 32}],
             rx_port=TP_VIRTIO, want_src=MEMIF_MAC)

        # The far end restarts: the memif link and the vhost port go
        # down (stations forgotten), splitvm-net reconnects both.
        tp.quit()
        st, ok = sw.wait_stats(lambda s: not any(p["connected"]
                                                 for p in s["ports"]))
        c.check(ok, "restart: both ports down once testpmd is gone")
        if st:
            c.equal(st["mac_entries"], 0, "restart: stations forgotten")
        tp = memif_server_testpmd("r")
        c.check(netbe.open_sockets(tp.proc, [msock, vsock]),
                "restart: testpmd listens again")
        if c.check(tp.started(), "restart: testpmd started again"):
            tp.cmd("set fwd rxonly")
            tp.cmd("set verbose 1")
            st, ok = sw.wait_stats(lambda s: all(p["connected"]
                                                 for p in s["ports"]),
                                   timeout=60)
            c.check(ok and memif_up(tp), "restart: splitvm-net reconnected "
                    "its memif client and its vhost client port")
            step(sw, tp, "after the restart", TP_MEMIF, VIRTIO_MAC,
                 [64, 160], [128, 64], [32, 64], [{}, {"hairpin": 32}],
                 rx_port=TP_VIRTIO, want_src=MEMIF_MAC)

        final = stop_switch(sw, "switch")
        sw = None
        if final:
            c.equal(counts(final, "rx_frames"), [64, 160],
                    "final statistics printed on exit")

        # Cross-connect: vhost port <-> uplink, no lookup at all.
        sw = start_switch(["--mode", "xconnect", "--port", vsock + ",client",
                           "--uplink", uplink],
                          "forwarding: 2 ports, mode xconnect")
        st, ok = sw.wait_stats(lambda s: all(p["connected"]
                                             for p in s["ports"]))
        c.check(ok, "xconnect: vhost port (reconnected) and uplink up")
        c.check(memif_up(tp), "xconnect: testpmd's memif port is connected")
        step(sw, tp, "xconnect vhost -> uplink", TP_VIRTIO, OTHER_MAC,
             [32, 0], [0, 32], [0, 0], rx_port=TP_MEMIF,
             want_src=VIRTIO_MAC)
        step(sw, tp, "xconnect uplink -> vhost", TP_MEMIF, MEMIF_MAC,
             [32, 32], [32, 32], [0, 0], rx_port=TP_VIRTIO,
             want_src=MEMIF_MAC)
        stop_switch(sw, "xconnect")
        sw = None
        tp.quit()

        # splitvm-net as the memif server: it listens, testpmd's memif
        # client brings the shared memory (splitvm-net only maps it: no
        # memfd_create or ftruncate on its seccomp list).
        msock2 = os.path.join(tmp, "memif-server.sock")
        vsock2 = os.path.join(tmp, "vhost2.sock")
        sw = start_switch(["--port", vsock2, "--uplink",
                           f"net_memif0,role=server,socket={msock2},"
                           "socket-abstract=no,name=srv"],
                          "forwarding: 2 ports, mode switch")
        c.check(os.path.exists(msock2), "splitvm-net listens on the memif "
                "socket")
        tp = netbe.Testpmd(TESTPMD, [vsock2], [VIRTIO_MAC], prefix + "s",
                           os.path.join(tmp, "testpmd2.log"),
                           vdevs=[f"net_memif0,role=client,socket={msock2},"
                                  f"socket-abstract=no,mac={MEMIF_MAC}"])
        if c.check(tp.started(), "testpmd with a memif client started"):
            tp.cmd("set fwd rxonly")
            tp.cmd("set verbose 1")
            st, ok = sw.wait_stats(lambda s: all(p["connected"]
                                                 for p in s["ports"]))
            c.check(ok and memif_up(tp), "memif server uplink connected")
            # A memif client hands its receive buffers to the server in
            # its rx burst: until testpmd polls its memif port once, the
            # server (splitvm-net) has nowhere to put a frame.
            tp.cmd(f"set portlist {TP_MEMIF}")
            tp.cmd("start")
            time.sleep(0.3)
            tp.cmd("stop")
            step(sw, tp, "server uplink: vhost port to the uplink",
                 TP_VIRTIO, MEMIF_MAC, [32, 0], [0, 32], [32, 0],
                 rx_port=TP_MEMIF, want_src=VIRTIO_MAC)
            step(sw, tp, "server uplink: uplink to the vhost port",
                 TP_MEMIF, VIRTIO_MAC, [32, 32], [32, 32], [32, 0],
                 rx_port=TP_VIRTIO, want_src=MEMIF_MAC)
        stop_switch(sw, "memif server")
        sw = None
        c.check(not os.path.exists(msock2), "memif server socket removed "
                "on exit")
    finally:
        if sw:
            sw.dump()
            sw.kill()
        tp.quit()

c.finish()

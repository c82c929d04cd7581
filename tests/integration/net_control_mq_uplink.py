#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""splitvm-net with every feature that shares its forwarding workers at
once: two threads, --queues 2, a memif uplink (splitvm-net the server)
and ports added and removed through --control, under the default
seccomp filter (kill) and without capabilities.

The uplink is slot 0, --control ports a and b take slots 1 and 2; their
queue pairs are dealt to both threads, so a's queue 0 and queue 1 are
polled by different threads and both transmit to the uplink's one queue
(under its lock) and to b's queues.  One testpmd drives a and b
(virtio-user, two queue pairs each), a second one the memif client.

a floods an unknown station: b gets queue k on queue k, the uplink all
64 frames; the uplink answers to a's MAC: unicast, on a's queue 0.
Then b is removed (its socket goes, list no longer has it) and added
again: it reuses its slot, whose counters start from zero, and a new
frontend on it forwards through the same threads.  SIGTERM: exit 0."""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import netbe  # noqa: E402
import svmtest  # noqa: E402

BURST = 32
MEMIF_MAC = "02:00:00:00:00:60"
A_MAC = "02:00:00:00:00:61"
B_MAC = "02:00:00:00:00:62"
UNKNOWN_MAC = "02:00:00:00:00:99"
SW_UP, SW_A, SW_B = 0, 1, 2         # splitvm-net slots

exe = sys.argv[1]
c = svmtest.Checker("net_control_mq_uplink")
TESTPMD = netbe.testpmd_with("memif", "librte-net-memif23")


def by_name(st, name):
    for p in st["ports"]:
        if p["name"] == name:
            return p
    return None


def per_queue(st, name, key):
    p = by_name(st, name)
    return [q[key] for q in p["queues"]] if p else None


def all_drops(st):
    return {f"{p['name']}.{k}": v for p in st["ports"] for q in p["queues"]
            for k, v in q["drops"].items() if v}


def virtio_testpmd(tmp, name):
    return netbe.Testpmd(TESTPMD, [os.path.join(tmp, "a.sock"),
                                   os.path.join(tmp, "b.sock")],
                         [A_MAC, B_MAC], f"splitvm-net-cmu{name}-{os.getpid()}",
                         os.path.join(tmp, f"tpv{name}.log"), queues=2)


def started(tp, what):
    """testpmd up and in rxonly mode, or the test ends."""
    if not c.check(tp.started(), f"testpmd started ({what})"):
        print(tp.tail())
        c.finish()
    tp.cmd("set fwd rxonly")


def connected(sw, what):
    """The three ports connected: their statistics, or the test ends."""
    st, ok = sw.wait_stats(lambda s: len(s["ports"]) == 3 and
                           all(p["connected"] for p in s["ports"]))
    if not c.check(ok, what):
        sw.dump()
        c.finish()
    return st


def send(sw, tp, port, dst, pred, what):
    tp.send_burst(port, dst)
    st, ok = sw.wait_stats(pred)
    time.sleep(0.3)     # let a wrong extra copy show up
    tp.cmd("stop")
    st = sw.stats() or st
    c.check(ok, f"{what}: counters reached")
    return st


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o777)
    control = os.path.join(tmp, "control.sock")
    msock = os.path.join(tmp, "memif.sock")
    sw = netbe.SplitvmNet(exe, [
        "--threads", "2", "--queues", "2", "--control", control,
        "--uplink", f"net_memif0,role=server,socket={msock},"
        "socket-abstract=no,name=up"])
    tpv = tpm = None
    try:
        if not c.check(sw.wait_log("forwarding: 1 ports and those added "
                                   "through --control, mode switch, "
                                   "sleeping when idle, 2 threads"),
                       "splitvm-net started: uplink, --control, 2 threads"):
            sw.dump()
            c.finish()
        status = netbe.proc_status(sw.proc.pid)
        c.equal((status["CapEff"], status["Seccomp"]),
                ("0000000000000000", "2"),
                "no capabilities, under seccomp")
        for name in ("a", "b"):
            r = netbe.control(control, {"op": "add", "name": name})
            c.equal((r.get("ok"), r.get("path")),
                    (True, os.path.join(tmp, f"{name}.sock")),
                    f"--control adds port {name}")
        tpm = netbe.Testpmd(TESTPMD, [], [], f"splitvm-net-cmum-{os.getpid()}",
                            os.path.join(tmp, "tpm.log"),
                            vdevs=[f"net_memif0,role=client,socket={msock},"
                                   f"socket-abstract=no,mac={MEMIF_MAC}"])
        tpv = virtio_testpmd(tmp, "1")
        started(tpm, "memif client")
        started(tpv, "a and b, 2 queues")
        st = connected(sw, "uplink, a and b connected")
        c.equal([len(p["queues"]) for p in st["ports"]], [1, 2, 2],
                "queue pairs: the uplink one, --control ports --queues")
        # The memif client hands the server its receive buffers in its
        # rx burst: let testpmd poll once before frames go to it.
        tpm.cmd("start")
        time.sleep(0.3)
        tpm.cmd("stop")

        # a floods an unknown station from both queues (two threads).
        st = send(sw, tpv, 0, UNKNOWN_MAC,
                  lambda s: per_queue(s, "b", "tx_frames") == [BURST, BURST]
                  and per_queue(s, "up", "tx_frames") == [2 * BURST],
                  "flood from a")
        c.equal(per_queue(st, "a", "rx_frames"), [BURST, BURST],
                "a received on both queues")
        c.equal(per_queue(st, "b", "tx_frames"), [BURST, BURST],
                "flood: a's queue k delivered on b's queue k")
        c.equal(per_queue(st, "up", "tx_frames"), [2 * BURST],
                "flood: both threads' copies went out of the uplink")
        c.equal(per_queue(st, "a", "flooded"), [BURST, BURST],
                "a's frames were flooded")
        # The uplink answers a (learned): unicast to a's queue 0.
        st = send(sw, tpm, 0, A_MAC,
                  lambda s: per_queue(s, "a", "tx_frames") == [BURST, 0],
                  "uplink to a")
        c.equal(per_queue(st, "up", "rx_frames"), [BURST],
                "uplink received the burst")
        c.equal(per_queue(st, "a", "tx_frames"), [BURST, 0],
                "uplink to a: on a's queue 0 (0 mod 2), not flooded to b")
        c.equal(per_queue(st, "b", "tx_frames"), [BURST, BURST],
                "nothing more for b")
        c.equal(all_drops(st), {}, "no drops")
        got = tpm.port_stats()
        c.equal(got.get(0), (2 * BURST, BURST),
                "testpmd's memif port: received 64, sent 32")

        names = []
        for tid in os.listdir(f"/proc/{sw.proc.pid}/task"):
            with open(f"/proc/{sw.proc.pid}/task/{tid}/comm") as f:
                names.append(f.read().strip())
        c.check(any("worker" in n for n in names),
                f"a second forwarding thread runs ({', '.join(names)})")

        # Remove b while a and the uplink stay; add it again.
        r = netbe.control(control, {"op": "remove", "name": "b"})
        c.equal(r.get("ok"), True, "--control removes b")
        c.check(not os.path.exists(os.path.join(tmp, "b.sock")),
                "b's socket is gone")
        r = netbe.control(control, {"op": "list"})
        c.check(r.get("ok") and "b" not in r.get("ports", []) and
                "a" in r.get("ports", []), "list: a without b", str(r))
        st, ok = sw.wait_stats(lambda s: by_name(s, "b") is None)
        c.check(ok, "b left the statistics")
        tpv.quit()
        tpv = None
        r = netbe.control(control, {"op": "add", "name": "b"})
        c.equal(r.get("ok"), True, "--control adds b again")
        st = sw.stats()
        c.check(st is not None and [p["name"] for p in st["ports"]] ==
                ["up", "a", "b"], "b took its old slot again",
                str(st and [p["name"] for p in st["ports"]]))
        c.equal(st and (per_queue(st, "b", "rx_frames"),
                        per_queue(st, "b", "tx_frames")),
                ([0, 0], [0, 0]), "the reused slot's counters start at 0")
        tpv = virtio_testpmd(tmp, "2")
        started(tpv, "again, a and b")
        connected(sw, "a and the new b connected")
        # b's stations: none learned (a's were forgotten when it went
        # down): b floods to a and the uplink, from both its queues.
        st = send(sw, tpv, 1, A_MAC,
                  lambda s: per_queue(s, "b", "rx_frames") == [BURST, BURST]
                  and per_queue(s, "up", "tx_frames") == [4 * BURST],
                  "b after its return")
        c.equal(per_queue(st, "b", "rx_frames"), [BURST, BURST],
                "the returned b received on both queues")
        c.equal(per_queue(st, "a", "tx_frames"), [2 * BURST, BURST],
                "a got b's frames on queue k")
        c.equal(per_queue(st, "up", "tx_frames"), [4 * BURST],
                "the uplink got b's frames too")
        c.equal(all_drops(st), {}, "no drops")

        for tp in (tpv, tpm):
            tp.quit()
        tpv = tpm = None
        status, final = sw.stop()
        c.equal(status, 0, "splitvm-net exits 0 on SIGTERM")
        c.check(not netbe.runtime_dirs(f"splitvm-net-{sw.proc.pid}"),
                "EAL runtime directory removed")
        if c.failed:
            sw.dump()
    finally:
        for tp in (tpv, tpm):
            if tp:
                tp.quit()
        sw.kill()

c.finish()

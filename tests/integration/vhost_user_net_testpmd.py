#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""--net against a real vhost-user net back-end, DPDK's testpmd with its
net_vhost PMD in macswap forwarding: the test guest finds a modern
virtio-net function on PCI, reads the MAC from its config space, posts
receive buffers, sends 64 frames with a sequence number and a checksum
in the payload, and checks every frame testpmd sends back (addresses
swapped).  testpmd's own counters, printed when SIGINT stops it, must
show the same frames passing through port 0.  The core is not on the
data path: the guest's kicks reach testpmd (which polls anyway) through
ioeventfd, and testpmd writes the guest's rings directly.

The variant (third argument) picks the guest's ring layout, whether it
resets the device in the middle of its traffic, and how many queue pairs
it uses:
  split         guest.ring=split
  packed        guest.ring=packed: packed virtqueues (testpmd offers
                VIRTIO_F_RING_PACKED), which need the core to send
                SET_VRING_BASE with both wrap counters set
  reset         packed, plus guest.net_reset=1: after the first pass a
                burst of frames goes out, the guest takes one transmit
                completion and resets the device with the rest in flight
                (the core stops both rings with GET_VRING_BASE), sets it
                up again and runs a second pass; testpmd must have
                forwarded both passes on the one connection
  reset-split   the same on split rings
  mq            4 queue pairs (--net queues=4, testpmd queues=4 --rxq=4
                --txq=4), guest.ring=auto: the core must withhold
                testpmd's RING_PACKED (its control queue is split only),
                so the guest drives split rings.  The guest sets up the
                control queue, which the core runs, sends VQ_PAIRS_SET 4
                (answered OK) and an unsupported command (answered ERR),
                each of which must bring an MSI-X interrupt (the core
                signals the queue's irqfd), and spreads the frames over
                the pairs; its per-pair counts and testpmd's per-queue
                forwarding statistics must both show FRAMES / 4 frames on
                every pair.  (DPDK 22.11's net_vhost answers GET_QUEUE_NUM
                with its own maximum, not with queues=N, so "more pairs
                than the back-end has" is tested against a fake back-end
                in tests/unit/test_vhost_user_dev.c.)"""

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import svmtest  # noqa: E402

FRAMES = 64
MAC = "52:54:00:12:34:56"
VIRTIO_F_RING_PACKED = 34
VARIANTS = {  # name: (guest.ring=, ring expected, reset, queue pairs)
    "split": ("split", "split", False, 1),
    "packed": ("packed", "packed", False, 1),
    "reset": ("packed", "packed", True, 1),
    "reset-split": ("split", "split", True, 1),
    "mq": ("auto", "split", False, 4),
}

splitvm, guest = sys.argv[1:3]
variant = sys.argv[3] if len(sys.argv) > 3 else "split"
RING_OPT, RING, RESET, QUEUES = VARIANTS[variant]
assert FRAMES % QUEUES == 0
PASSES = 2 if RESET else 1
c = svmtest.Checker(f"vhost_user_net_testpmd {variant}")
svmtest.require_kvm()
TESTPMD = shutil.which("dpdk-testpmd")
if TESTPMD is None:
    svmtest.skip("dpdk-testpmd is not installed (Debian package dpdk-dev)")

prefix = f"splitvm-test-{os.getpid()}"


def runtime_dirs():
    """Where EAL may have put this --file-prefix's runtime directory."""
    bases = ["/var/run/dpdk", "/tmp/dpdk"]
    if os.environ.get("XDG_RUNTIME_DIR"):
        bases.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "dpdk"))
    return [d for b in bases for d in glob.glob(os.path.join(b, prefix))]


def port0_stats(log):
    """RX-packets and TX-packets of the last "Forward statistics for
    port 0" block, the one testpmd prints when it stops."""
    blocks = re.findall(r"Forward statistics for port 0\s+-+\s*\n"
                        r"\s*RX-packets:\s*(\d+).*?\n"
                        r"\s*TX-packets:\s*(\d+)", log)
    if not blocks:
        return None
    rx, tx = blocks[-1]
    return int(rx), int(tx)


def queue_stats(log):
    """{queue: (RX-packets, TX-packets)} from testpmd's last per-stream
    "Forward Stats for RX Port= 0/Queue= q" blocks (printed when it
    forwards more than one stream)."""
    stats = {}
    for q, rx, tx in re.findall(
            r"Forward Stats for RX Port= 0/Queue=\s*(\d+) -> "
            r"TX Port= 0/Queue=\s*\d+ -+\s*\n"
            r"\s*RX-packets:\s*(\d+)\s+TX-packets:\s*(\d+)", log):
        stats[int(q)] = (int(rx), int(tx))
    return stats


def stop(proc):
    """SIGINT (testpmd prints its final statistics), then harder."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


with tempfile.TemporaryDirectory() as tmp:
    sock = os.path.join(tmp, "net.sock")
    log = open(os.path.join(tmp, "testpmd.log"), "w+")
    eal = ["-l", "0,1", "--no-huge", "-m", "1024", "--no-pci",
           f"--file-prefix={prefix}",
           "--vdev", f"net_vhost0,iface={sock},queues={QUEUES}"]
    if os.geteuid() != 0:
        eal += ["--no-shconf", "--iova-mode=va"]
    # Not interactive: --stats-period keeps it running until SIGINT.
    tp = subprocess.Popen(
        [TESTPMD] + eal +
        ["--", "--forward-mode=macswap", "--auto-start",
         "--total-num-mbufs=16384", "--no-mlockall", "--stats-period=1",
         f"--rxq={QUEUES}", f"--txq={QUEUES}"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        # testpmd is the vhost-user server: splitvm connects to its socket.
        for _ in range(300):
            if os.path.exists(sock) or tp.poll() is not None:
                break
            time.sleep(0.1)
        if not c.check(tp.poll() is None and os.path.exists(sock),
                       "testpmd is running and listening"):
            log.seek(0)
            print(log.read())
            c.finish()

        cmdline = (f"guest.ticks=1 guest.exit=poweroff guest.net={FRAMES} "
                   f"guest.ring={RING_OPT}")
        if RESET:
            cmdline += " guest.net_reset=1"
        if QUEUES > 1:
            cmdline += f" guest.net_queues={QUEUES} guest.net_irq=1"
        r = svmtest.run([splitvm, "--kernel", guest, "--memory", "64M",
                         "--net", f"socket={sock},mac={MAC},queues={QUEUES}",
                         "--cmdline", cmdline],
                        timeout=120)
        rep = svmtest.guest_report(r.stdout)
        net = [(bdf, fn) for bdf, fn in rep["pci_functions"].items()
               if fn.get("vendor") == "0x1af4" and fn.get("device") == "0x1041"]
        ok = c.equal(r.status, svmtest.EXIT_POWEROFF, "splitvm exits 0")
        ok &= c.equal(len(net), 1, "the guest sees one virtio-net function")
        if net:
            ok &= c.equal(net[0][1].get("class"), "0x020000",
                          f"{net[0][0]}: class network / ethernet")
        ok &= c.check(f"[net0] virtio-net on vhost-user back-end {sock}: "
                      f"{2 * QUEUES + (QUEUES > 1)} queue(s)"
                      in r.stderr, "testpmd answered the negotiation")
        # One features line per device start, each naming the layout.
        feats = re.findall(r"guest: net \S+ features=0x([0-9a-f]+) "
                           r"negotiated=0x([0-9a-f]+) .* ring=(\w+)", r.stdout)
        ok &= c.equal(len(feats), PASSES, "the guest started the device "
                      f"{PASSES} time(s)")
        for offered, negotiated, ring in feats:
            ok &= c.equal(ring, RING, f"the guest drove {RING} rings")
            ok &= c.equal(bool(int(negotiated, 16) >> VIRTIO_F_RING_PACKED & 1),
                          RING == "packed", "RING_PACKED negotiated as reported")
            if RING == "packed":
                ok &= c.check(int(offered, 16) >> VIRTIO_F_RING_PACKED & 1,
                              "the core offered testpmd's RING_PACKED")
            if QUEUES > 1:
                ok &= c.check(not int(offered, 16) >> VIRTIO_F_RING_PACKED & 1,
                              "the core withheld RING_PACKED from a device "
                              "with a control queue")
        for tag in ["", "pass2 "][:PASSES]:
            m = re.search(rf"guest: net (\S+) {tag}mac=(\S+) sent=(\d+) "
                          r"received=(\d+) verified=(\d+) swapped=(\d+)",
                          r.stdout)
            what = f" ({tag.strip()})" if tag else ""
            if c.check(m is not None, f"the guest ran its network test{what}",
                       r.stdout[-500:]):
                _, mac, sent, received, verified, swapped = m.groups()
                ok &= c.equal(mac, MAC,
                              "the guest read --net mac from config space")
                ok &= c.equal(int(sent), FRAMES, f"frames sent{what}")
                ok &= c.equal(int(received), FRAMES, f"frames received{what}")
                ok &= c.equal(int(verified), FRAMES, "every frame came back "
                              f"with its payload intact{what}")
                ok &= c.equal(int(swapped), FRAMES, "testpmd macswap swapped "
                              f"the addresses of each{what}")
            else:
                ok = False
        stale_sent = 0
        if RESET:
            m = re.search(r"guest: net \S+ restart=ok stale_sent=(\d+) "
                          r"stale_back=(\d+)", r.stdout)
            if c.check(m is not None, "the guest reset the device with "
                       "frames in flight and started it again"):
                stale_sent = int(m.group(1))
                ok &= c.check(stale_sent > 1, "a burst was in flight at "
                              "the reset", f"stale_sent={stale_sent}")
            else:
                ok = False
            # The core stopped both rings at the reset, and at exit.
            ok &= c.check("failed" not in r.stderr,
                          "the core logged no failure")
        if QUEUES > 1:
            m = re.search(r"guest: net \S+ queue_pairs=(\d+) "
                          r"max_virtqueue_pairs=(\d+) ctrl_vq=(\d+) "
                          r"pairs_set=ok unsupported=err ctrl_irqs=(\d+)",
                          r.stdout)
            if c.check(m is not None, "the control queue answered OK to "
                       "VQ_PAIRS_SET and ERR to an unsupported command",
                       r.stdout[-800:]):
                ok &= c.equal(tuple(map(int, m.groups())),
                              (QUEUES, QUEUES, 2 * QUEUES, 2),
                              "pairs used, max_virtqueue_pairs, control vq, "
                              "commands answered with an MSI-X interrupt")
            else:
                ok = False
            per = FRAMES // QUEUES
            ok &= c.equal(svmtest.guest_net_pairs(r.stdout),
                          {k: (per, per, per) for k in range(QUEUES)},
                          "every pair sent, received and verified its share")
        ok &= c.check("guest: result=PASS" in r.stdout, "the guest passes")
        ok &= c.check(tp.poll() is None, "testpmd survives splitvm's exit")
        if not ok:
            r.dump()
    finally:
        stop(tp)
        log.seek(0)
        tp_log = log.read()
        log.close()
        for d in runtime_dirs():
            shutil.rmtree(d, ignore_errors=True)

    stats = port0_stats(tp_log)
    if c.check(stats is not None, "testpmd printed its final statistics",
               tp_log[-1500:]):
        rx, tx = stats
        # Each pass's frames; stale ones it may or may not have seen.
        c.check(rx >= PASSES * FRAMES,
                f"testpmd port 0 received the guest's frames ({PASSES} "
                "pass(es))", f"RX-packets {rx}")
        c.check(tx >= PASSES * FRAMES, "testpmd port 0 sent them back",
                f"TX-packets {tx}")
        c.check(rx <= PASSES * FRAMES + stale_sent,
                "testpmd saw no frame the guest did not send",
                f"RX-packets {rx}")
    if QUEUES > 1:
        per = FRAMES // QUEUES
        c.equal(queue_stats(tp_log), {q: (per, per) for q in range(QUEUES)},
                "testpmd forwarded each pair's share on its own queue")
    c.check(not runtime_dirs(), "testpmd's runtime directory is gone")

c.finish()

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Instructions splitvm-net spends per forwarded frame, counted by
# callgrind (repeatable: the same binary and traffic give the same counts
# whatever else the machine runs, unlike cycles). A diagnostic, not a
# benchmark against a peer: tools/bench_switch.py is that.
#
#   tools/instr_per_frame.sh SPLITVM_NET [SIZE [splitvm-net options...]]
#
# splitvm-net cross-connects two ports under valgrind --tool=callgrind,
# collecting inside its per-queue poll only (queue_poll); one dpdk-testpmd
# with two virtio-user ports sends SIZE-byte frames (flowgen, default 64)
# both ways. Collection starts once frames flow (callgrind_control) and
# runs CG_SECS seconds (default 20). Printed:
#   - per direct frame: the four functions each frame of the direct copy
#     goes through (walk, header, receive put, take), from callgrind's own
#     call counts, so exact;
#   - per frame, all of the poll: the whole count over the frames, after
#     taking out the polls that found nothing (EMPTY_IR instructions each,
#     default 361 for the direct copy and 306 for --copy mbuf, as measured
#     here with silent ports): an estimate. With --copy mbuf the frames
#     are counted as 32 per poll that moved some: under callgrind the
#     forwarder is the slow side, so its bursts are full (the direct
#     copy's exact count shows 32.0 per poll).
# Needs root (--allow-root), valgrind and dpdk-testpmd. Takes about a
# minute; leaves its files in a temporary directory it prints.
set -eu
bin=$1 size=${2:-64}
shift $(( $# < 2 ? $# : 2 ))
d=$(mktemp -d /tmp/instr-per-frame.XXXXXX)
chmod 755 "$d"
vp= tp=
trap 'kill ${tp:+"$tp"} ${vp:+"$vp"} 2>/dev/null || true; rm -rf "/var/run/dpdk/ipf$$"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" \
	--toggle-collect='queue_poll*' --instr-atstart=no \
	"$bin" --allow-root --seccomp off --hugepages off --mode xconnect \
	--busy-poll --cpu 0 --stats-format json \
	--port "$d/s0" --port "$d/s1" "$@" >"$d/svm.out" 2>"$d/svm.err" &
vp=$!
for _ in $(seq 1 600); do [ -S "$d/s1" ] && break; sleep 0.1; done
stdbuf -oL dpdk-testpmd --lcores 0@1,1@1 --no-huge -m 1024 --no-pci \
	--file-prefix="ipf$$" \
	--vdev "net_virtio_user0,path=$d/s0,mac=02:00:00:00:00:0a" \
	--vdev "net_virtio_user1,path=$d/s1,mac=02:00:00:00:00:0b" \
	-- --txpkts="$size" --total-num-mbufs=16384 --no-mlockall \
	--nb-cores=1 --forward-mode=flowgen --auto-start \
	--stats-period=5 >"$d/tpmd.out" 2>&1 &
tp=$!
sleep "${CG_WARM:-10}"
callgrind_control -i on "$vp" >/dev/null 2>&1
kill -USR1 "$vp"
sleep "${CG_SECS:-20}"
kill -USR1 "$vp"
callgrind_control -i off "$vp" >/dev/null 2>&1
sleep 1
kill -INT "$tp"; wait "$tp" || true
kill -TERM "$vp"; wait "$vp" || true
tp= vp=
python3 - "$d" "${EMPTY_IR:-}" <<'PY'
import collections, re, sys

d = sys.argv[1]
calls, incl, names, cfn = collections.Counter(), collections.Counter(), {}, None
pending = False
for line in open(f"{d}/cg.out"):
    m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
    if m:
        if m.group(3):
            names[m.group(2)] = m.group(3)
        if m.group(1) == "cfn":
            cfn = names.get(m.group(2), m.group(2))
        continue
    m = re.match(r"calls=(\d+)", line)
    if m:
        calls[cfn] += int(m.group(1))
        pending = True
        continue
    if pending:             # the inclusive cost line after calls=
        incl[cfn] += int(line.split()[1])
        pending = False
total = next(int(l.split()[1]) for l in open(f"{d}/cg.out")
             if l.startswith("totals:"))
per = ["net_direct_tx_walk", "net_direct_tx_header", "net_direct_rx_put",
       "net_direct_tx_take"]
direct = calls["net_direct_tx_take"]
print(f"instr_per_frame: files in {d}")
if direct:
    four = sum(incl[f] for f in per)
    work = calls["rte_vhost_set_vring_base"] / 2
    empty = calls["net_fwd_direct"] - work
    frames, empty_ir = direct, float(sys.argv[2] or 361)
    print(f"  direct frames {direct}, {direct / max(work, 1):.1f} per poll "
          f"that moved some, {empty:.0f} empty polls")
    print(f"  per direct frame, walk + header + put + take: "
          f"{four / direct:.0f} instructions")
else:
    work = calls["rte_vhost_enqueue_burst"]
    empty = calls["rte_vhost_dequeue_burst"] - work
    frames, empty_ir = 32 * work, float(sys.argv[2] or 306)
    print(f"  no direct frame; {work} polls moved frames (32 each taken), "
          f"{empty} empty polls")
if frames:
    print(f"  per frame, all of the poll (estimate): "
          f"{(total - empty * empty_ir) / frames:.0f} instructions")
PY

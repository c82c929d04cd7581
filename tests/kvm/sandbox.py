#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The core's own sandbox, seen from outside: while the guest runs, every
task of the splitvm process (main thread, vCPU threads, KVM's worker) has
no capabilities, no_new_privs, a seccomp filter (main and vCPU threads a
second one of their own) and, when started as root,
an unprivileged uid/gid; a system call off the allowlist kills it with
SIGSYS; --seccomp=log, --seccomp=off and --sandbox=off do what --help says;
and an unprivileged user gets the same minus the bounding set."""

import grp
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import svmtest  # noqa: E402

splitvm, guest = sys.argv[1:3]
svmtest.require_kvm()
c = svmtest.Checker("sandbox")
ROOT = os.geteuid() == 0
NOBODY = 65534
PROBE_ENV = "SPLITVM_TEST_SECCOMP_PROBE"
HANG = "guest.ticks=1 guest.exit=hang"


def status_of(path):
    fields = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def tasks(pid):
    """{tid: (comm, status dict)} for every task of pid."""
    out = {}
    for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
        base = f"/proc/{pid}/task/{tid}"
        try:
            with open(base + "/comm") as f:
                comm = f.read().strip()
            out[int(tid)] = (comm, status_of(base + "/status"))
        except FileNotFoundError:
            pass  # a thread that just ended
    return out


def start_hanging(args, env=None, preexec_fn=None):
    """splitvm with a guest that stays up; returns once the guest said so."""
    argv = [splitvm, "--kernel", guest, "--memory", "64M",
            "--cmdline", HANG] + args
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, preexec_fn=preexec_fn)
    buf = b""
    end = time.monotonic() + 120
    while b"guest: hanging" not in buf and time.monotonic() < end:
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        buf += chunk
    return proc, b"guest: hanging" in buf


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err.decode(errors="replace")


def check_tasks(label, pid, want_ids, want_bnd_zero=True, want_seccomp="2",
                min_tasks=3, switched=ROOT):
    ts = tasks(pid)
    names = sorted(comm for comm, _ in ts.values())
    c.check(len(ts) >= min_tasks and "vcpu0" in names and "vcpu1" in names,
            f"{label}: main thread and both vCPU threads seen", str(names))
    for tid, (comm, st) in ts.items():
        what = f"{label}: task {comm}"
        caps = {k: st.get(k) for k in ("CapEff", "CapPrm", "CapAmb", "CapInh")}
        c.check(all(v is not None and int(v, 16) == 0 for v in caps.values()),
                f"{what}: CapEff, CapPrm, CapAmb, CapInh are 0", str(caps))
        if want_bnd_zero:
            c.equal(int(st.get("CapBnd", "1"), 16), 0, f"{what}: CapBnd is 0")
        c.equal(st.get("NoNewPrivs"), "1", f"{what}: NoNewPrivs 1")
        c.equal(st.get("Seccomp"), want_seccomp, f"{what}: Seccomp {want_seccomp}")
        # The process filter plus the thread's own tightening (KVM's
        # worker thread is not ours: it only inherits).
        if want_seccomp == "2" and (comm == "splitvm" or comm.startswith("vcpu")):
            c.equal(st.get("Seccomp_filters"), "2",
                    f"{what}: process filter + its own per-thread filter")
        if want_ids is not None:
            uid, gid = want_ids
            c.equal(st.get("Uid", "").split(), [str(uid)] * 4,
                    f"{what}: real/effective/saved/fs uid {uid}")
            c.equal(st.get("Gid", "").split(), [str(gid)] * 4,
                    f"{what}: real/effective/saved/fs gid {gid}")
            if switched:
                c.equal(st.get("Groups"), "", f"{what}: no supplementary groups")


# 1. Default: everything on; as root the core becomes nobody/nogroup.
proc, up = start_hanging(["--cpus", "2"])
c.check(up, "default: the guest runs inside the sandbox")
if up:
    check_tasks("default", proc.pid, (NOBODY, NOBODY) if ROOT else None)
status, err = stop(proc)
c.equal(status, 128 + signal.SIGTERM, "default: SIGTERM still stops it (143)")
c.check("no capabilities, no_new_privs, seccomp kill" in err,
        "default: says it entered the sandbox", err[-300:])

# 2. A system call off the list kills the whole process with SIGSYS.
env = dict(os.environ, **{PROBE_ENV: "socket"})
p = subprocess.run([splitvm, "--kernel", guest, "--memory", "64M",
                    "--cmdline", "guest.ticks=1"], env=env,
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
perr = p.stderr.decode(errors="replace")
c.equal(p.returncode, -signal.SIGSYS,
        "socket(AF_INET) after the sandbox: killed by SIGSYS (shell: 159)")
c.check("test probe: socket(AF_INET)" in perr and "succeeded" not in perr
        and "failed" not in perr, "probe: the call never returned", perr[-300:])
c.check(b"guest:" not in p.stdout, "probe: the guest never ran")

# 3. --seccomp=log: the same call is allowed (the kernel logs it).
p = subprocess.run([splitvm, "--kernel", guest, "--memory", "64M",
                    "--cmdline", "guest.ticks=1", "--seccomp=log"], env=env,
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
perr = p.stderr.decode(errors="replace")
c.equal(p.returncode, 0, "--seccomp=log: the probe survives, guest PASS")
c.check("socket(AF_INET) succeeded" in perr, "--seccomp=log: socket() returned",
        perr[-300:])

# 4. --seccomp=off: no filter, the rest of the sandbox stays.
proc, up = start_hanging(["--cpus", "2", "--seccomp=off"])
c.check(up, "--seccomp=off: the guest runs")
if up:
    check_tasks("--seccomp=off", proc.pid, (NOBODY, NOBODY) if ROOT else None,
                want_seccomp="0")
stop(proc)

# 5. --sandbox=off: none of it; the probe's socket() succeeds.
proc, up = start_hanging(["--cpus", "2", "--sandbox=off"], env=env)
c.check(up, "--sandbox=off: the guest runs")
if up:
    st = status_of(f"/proc/{proc.pid}/status")
    c.equal(st.get("Seccomp"), "0", "--sandbox=off: no seccomp filter")
    c.equal(st.get("NoNewPrivs"), "0", "--sandbox=off: no no_new_privs")
    if ROOT:
        c.equal(st.get("Uid", "").split()[0], "0", "--sandbox=off: still root")
status, err = stop(proc)
c.check("socket(AF_INET) succeeded" in err, "--sandbox=off: probe's socket() returned",
        err[-300:])

if ROOT:
    # 6. --user UID:GID.
    proc, up = start_hanging(["--cpus", "2", "--user", "4242:4343"])
    c.check(up, "--user 4242:4343: the guest runs")
    if up:
        check_tasks("--user 4242:4343", proc.pid, (4242, 4343))
    stop(proc)

    # 7. Started by an unprivileged user (in group kvm for /dev/kvm): no
    # capabilities, no_new_privs, seccomp; the bounding set and the
    # supplementary groups stay, since changing them needs CAP_SETPCAP and
    # CAP_SETGID (no_new_privs keeps the bounding set unusable).
    try:
        kvm_gid = grp.getgrnam("kvm").gr_gid
    except KeyError:
        kvm_gid = os.stat("/dev/kvm").st_gid

    def as_nobody():
        os.setgroups([kvm_gid])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    proc, up = start_hanging(["--cpus", "2"], preexec_fn=as_nobody)
    c.check(up, "started as nobody: the guest runs")
    if up:
        check_tasks("started as nobody", proc.pid, (NOBODY, NOBODY),
                    want_bnd_zero=False, switched=False)
        # Not dumpable: /proc/PID/mem (guest RAM) belongs to root, not to
        # the uid other processes (back-ends as nobody) may share.
        c.equal(os.stat(f"/proc/{proc.pid}/mem").st_uid, 0,
                "started as nobody: not dumpable (/proc/PID/mem owned by root)")
    stop(proc)

    # An unprivileged user cannot ask to become someone else.
    p = subprocess.run([splitvm, "--kernel", guest, "--memory", "64M",
                        "--user", "0"], preexec_fn=as_nobody,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=120)
    c.equal(p.returncode, 1, "nobody with --user 0: refused (exit 1)")
    c.check(b"only root can switch" in p.stderr, "nobody with --user 0: says why",
            p.stderr.decode(errors="replace")[-300:])
else:
    print("  (not root: --user and the drop from root are not exercised)")

c.finish()

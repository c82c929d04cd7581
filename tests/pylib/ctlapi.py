# SPDX-License-Identifier: GPL-2.0-only
"""Helpers for tests of splitvm's control API (docs/control-api.md):
requests with curl (as a user would), raw socket requests for malformed
input, and a small OpenMetrics checker."""

import json
import os
import re
import shutil
import socket
import subprocess
import time


def have_curl():
    return shutil.which("curl") is not None


def curl(sock, method, path, body=None, data_file=None, extra=(), timeout=30):
    """(status, headers dict lower-case, body text) of one request."""
    argv = ["curl", "-s", "-i", "--max-time", str(timeout),
            "--unix-socket", sock, "-X", method]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "--data-binary", body]
    if data_file is not None:
        argv += ["--data-binary", "@" + data_file]
    argv += list(extra) + ["http://localhost" + path]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout + 10)
    return parse_response(r.stdout)


def parse_response(raw):
    """Split a raw HTTP/1.1 response; (None, {}, raw) if it is not one.
    Interim 1xx responses (100 Continue) are skipped."""
    while re.match(rb"HTTP/1\.[01] 1\d\d ", raw) and b"\r\n\r\n" in raw:
        raw = raw.partition(b"\r\n\r\n")[2]
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0]) if sep else None
    if not m:
        return None, {}, raw.decode(errors="replace")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(m.group(1)), headers, body.decode(errors="replace")


def get_json(sock, path, method="GET", body=None):
    status, headers, text = curl(sock, method, path, body)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, None


def raw_request(sock, data, timeout=15, shut_write=True):
    """Send bytes on a fresh connection; everything read until the server
    closes or timeout."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    out = b""
    try:
        s.sendall(data)
        if shut_write:
            s.shutdown(socket.SHUT_WR)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError, BrokenPipeError):
        pass
    finally:
        s.close()
    return out


def raw_chunked_upload(sock, path, total, chunk=65536, timeout=15):
    """PUT a chunked body of total bytes, as far as the server lets us
    (it may answer and close early); then everything it sent."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    out = b""
    try:
        s.sendall(b"PUT " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        sent = 0
        while sent < total:
            s.sendall(b"%x\r\n" % chunk + b" " * chunk + b"\r\n")
            sent += chunk
        s.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    try:
        while True:
            data = s.recv(65536)
            if not data:
                break
            out += data
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out


def wait_for_socket(sock, proc, timeout=60):
    """Until the API answers a ping, or the process ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if os.path.exists(sock):
            status, _ = get_json(sock, "/api/v1/vmm.ping")
            if status == 200:
                return True
        time.sleep(0.1)
    return False


SUFFIX = {"counter": ["_total"], "info": ["_info"], "gauge": [""],
          "stateset": [""], "unknown": [""],
          "histogram": ["_bucket", "_count", "_sum", "_created"],
          "summary": ["", "_count", "_sum", "_created"]}
SAMPLE_RE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
    r'(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)?\})?'
    r' (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$')


def check_openmetrics(text):
    """A list of problems (empty when the text is valid OpenMetrics for
    what splitvm emits) and a dict family -> list of samples."""
    problems, families, current = [], {}, None
    types = {}
    if not text.endswith("# EOF\n"):
        problems.append("does not end with '# EOF'")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for i, line in enumerate(lines):
        if line == "# EOF":
            if i != len(lines) - 1:
                problems.append("'# EOF' is not the last line")
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[3] not in SUFFIX:
                problems.append(f"bad TYPE line: {line}")
                continue
            if parts[2] in types:
                problems.append(f"family {parts[2]} declared twice")
            types[parts[2]] = parts[3]
            families.setdefault(parts[2], [])
            current = parts[2]
            continue
        if line.startswith("# HELP ") or line.startswith("# UNIT "):
            if line.split(" ")[2] != current and line.split(" ")[2] not in types:
                problems.append(f"metadata for an undeclared family: {line}")
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            problems.append(f"not a sample line: {line!r}")
            continue
        name = m.group(1)
        if current is None or not any(name == current + s
                                      for s in SUFFIX[types[current]]):
            problems.append(f"sample {name} outside its family "
                            f"(current {current})")
            continue
        families[current].append(line)
    return problems, families

# SPDX-License-Identifier: GPL-2.0-only
"""Fetch Debian packages (the distribution kernel, busybox-static) into a
cache directory with `apt-get download` + `dpkg -x`, without installing
them, and build small initramfs images for tests."""

import glob
import os
import shutil
import subprocess

import svmtest


def cache_dir():
    base = os.environ.get("SPLITVM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "splitvm")
    os.makedirs(base, exist_ok=True)
    return base


def _resolve(package):
    """linux-image-amd64 is a metapackage: follow it to the real image."""
    out = subprocess.run(["apt-cache", "depends", package], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Depends:"):
            dep = line.split(":", 1)[1].strip()
            if dep.startswith("linux-image-"):
                return dep
    return package


def fetch(package, follow_meta=False):
    """Unpack package into the cache once; return its root directory."""
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        svmtest.skip("apt-get/dpkg not available to fetch " + package)
    real = _resolve(package) if follow_meta else package
    root = os.path.join(cache_dir(), real)
    if os.path.isdir(os.path.join(root, "usr")) or os.path.isdir(os.path.join(root, "boot")):
        return root
    work = root + ".download"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    r = subprocess.run(["apt-get", "download", real], cwd=work, capture_output=True, text=True)
    if r.returncode != 0 and os.getuid() == 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True)
        real = _resolve(package) if follow_meta else package
        root = os.path.join(cache_dir(), real)
        r = subprocess.run(["apt-get", "download", real], cwd=work, capture_output=True, text=True)
    debs = glob.glob(os.path.join(work, "*.deb"))
    if r.returncode != 0 or not debs:
        svmtest.skip(f"cannot download {real} from the Debian archive: {r.stderr.strip()[-200:]}")
    subprocess.run(["dpkg", "-x", debs[0], root + ".tmp"], check=True)
    os.rename(root + ".tmp", root)
    shutil.rmtree(work, ignore_errors=True)
    return root


def distribution_kernel():
    root = fetch("linux-image-amd64", follow_meta=True)
    kernels = sorted(glob.glob(os.path.join(root, "boot", "vmlinuz-*")))
    if not kernels:
        raise RuntimeError(f"no boot/vmlinuz-* in {root}")
    return kernels[-1]


def extract_vmlinux(bzimage, out_path):
    """The ELF vmlinux inside a bzImage (XZ payload, boot protocol >= 2.08).

    Booting it directly skips the bzImage's decompressor, which runs in
    guest kernel mode and so crawls on hosts whose KVM emulates that mode.
    """
    import lzma
    import struct
    with open(bzimage, "rb") as f:
        data = f.read()
    setup_sects = data[0x1F1] or 4
    version = struct.unpack_from("<H", data, 0x206)[0]
    if data[0x202:0x206] != b"HdrS" or version < 0x208:
        raise RuntimeError(f"{bzimage}: no payload description (boot protocol {version:#x})")
    offset, length = struct.unpack_from("<II", data, 0x248)
    start = (setup_sects + 1) * 512 + offset
    payload = data[start:start + length]
    if not payload.startswith(b"\xfd7zXZ\x00"):
        raise RuntimeError(f"{bzimage}: payload is not XZ ({payload[:6].hex()})")
    vmlinux = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)
    if not vmlinux.startswith(b"\x7fELF"):
        raise RuntimeError(f"{bzimage}: payload is not an ELF image")
    with open(out_path, "wb") as f:
        f.write(vmlinux)
    return out_path


def distribution_vmlinux():
    kernel = distribution_kernel()
    path = kernel.replace("vmlinuz-", "vmlinux-")
    if not os.path.exists(path):
        extract_vmlinux(kernel, path + ".tmp")
        os.rename(path + ".tmp", path)
    return path


def busybox_static():
    root = fetch("busybox-static")
    path = os.path.join(root, "bin", "busybox")
    if not os.path.exists(path):
        raise RuntimeError(f"no bin/busybox in {root}")
    return path


def _newc_entry(name, mode, data=b"", ino=1):
    name_b = name.encode() + b"\0"
    hdr = "070701" + "".join(f"{v:08x}" for v in (
        ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
    out = hdr.encode() + name_b
    out += b"\0" * (-len(out) % 4)
    out += data
    out += b"\0" * (-len(out) % 4)
    return out


def make_initramfs(path, files):
    """files: {name: (mode, bytes)}; directories have S_IFDIR modes."""
    blob = b""
    for ino, (name, (mode, data)) in enumerate(sorted(files.items()), start=1):
        blob += _newc_entry(name, mode, data, ino)
    blob += _newc_entry("TRAILER!!!", 0, b"", 0)
    blob += b"\0" * (-len(blob) % 512)
    with open(path, "wb") as f:
        f.write(blob)
    return len(blob)

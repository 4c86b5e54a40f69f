"""Secure boot, tested as TS 103 701 5.7-1 asks: the unit is handed a firmware image with
one byte of its kernel changed and must not boot it; the vendor's own image, written and
booted the same way, must boot (the positive control, which also puts the unit back).

The change is made without knowing the vendor's format: the kernel is found by its own
header (arm64 Image, ARM zImage, x86 bzImage), checked for plausible sizes, and one byte
4 KiB into it is inverted. A kernel compressed with gzip inside a U-Boot FIT (the image
type and compression the FIT declares) has a byte of its gzip header's time stamp inverted
instead: the decompressor ignores it, so a bootloader that checks nothing still boots the
same kernel. Whatever signs or hashes the kernel (a FIT's configuration, a vendor header,
dm-verity) then no longer matches.

The boot is watched on the serial console without pressing keys: the bootloader's banner
(a boot under way), the kernel's start, a login or shell prompt (booted); a boot that goes
quiet after the power cycle has finished ends the watch early. Bounded by `boot_wait`.
"""
from __future__ import annotations

import hashlib
import mmap
import re
import shutil
import struct
import time
from pathlib import Path

from harness.errors import TransportTimeout
from harness.probe.bootloader import cycle_in_background

KERNEL_STARTED = r"Starting kernel|Booting Linux|Linux version \d"
REFUSAL = re.compile(r"(?i)bad (data )?hash|verif|signature|authori[sz]|error|fail|refus")
CHANGE_AT = 0x1000          # into the kernel: past its header, inside its code
QUIET = 10.0                # s of silence after the power cycle ends a watch
MAX_KERNEL = 512 << 20


GZIP_IN_FIT = "gzip-compressed kernel in a FIT"
MAX_FIT = 256 << 20


def _fit_kernels(m) -> list[tuple[int, str]]:
    """(offset, format) of gzip-compressed kernels inside FIT images (the device trees
    found by their magic, at most 16 looked at)."""
    from harness.update import fit
    found, at = [], m.find(fit.MAGIC_BYTES)
    for _ in range(16):
        if at == -1:
            break
        (total,) = struct.unpack_from(">I", m, at + 4) if at + 8 <= len(m) else (0,)
        if 40 <= total <= min(MAX_FIT, len(m) - at):
            try:
                images = (fit.parse(m[at:at + total]).child("images") or fit.Node("")).children
            except fit.FitError:
                images = []
            for img in images:
                data = next((off for n, v, off in img.props
                             if n == "data" and v[:3] == b"\x1f\x8b\x08"), None)
                if data is not None and img.prop("type") == b"kernel\0" and \
                        img.prop("compression") == b"gzip\0":
                    found.append((at + data, GZIP_IN_FIT))
        at = m.find(fit.MAGIC_BYTES, at + 4)
    return found


def _change_at(start: int, fmt: str) -> int:
    """The byte changed: the gzip header's time stamp (ignored when it is decompressed),
    else 4 KiB into the kernel."""
    return start + 4 if fmt == GZIP_IN_FIT else start + CHANGE_AT


def _kernels(m) -> list[tuple[int, str]]:
    """(offset, format) of plausible kernel headers, in image order (at most 8)."""
    found = _fit_kernels(m)
    for magic, fmt in ((b"ARM\x64", "arm64 Image"), (b"\x18\x28\x6f\x01", "ARM zImage"),
                       (b"HdrS", "x86 bzImage")):
        at = m.find(magic)
        while at != -1 and len(found) < 8:
            start = at - {"arm64 Image": 0x38, "ARM zImage": 0x24, "x86 bzImage": 0x202}[fmt]
            if start >= 0 and _plausible(m, start, fmt):
                found.append((start, fmt))
            at = m.find(magic, at + 1)
    return sorted(found)[:8]


def _plausible(m, start: int, fmt: str) -> bool:
    try:
        if fmt == "arm64 Image":
            (size,) = struct.unpack_from("<Q", m, start + 0x10)
            return 0 < size < MAX_KERNEL
        if fmt == "ARM zImage":
            begin, end = struct.unpack_from("<II", m, start + 0x28)
            return 0 < end - begin < MAX_KERNEL
        return m[start + 0x1FE:start + 0x200] == b"\x55\xaa"
    except struct.error:
        return False


def modified_image(vendor: Path, out: Path) -> dict | None:
    """A copy of `vendor` with one byte of its first kernel inverted; None when no kernel
    header is found (the image cannot be modified without knowing its format)."""
    with open(vendor, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
        kernels = _kernels(m)
        if not kernels or _change_at(*kernels[0]) >= len(m):
            return None
        start, fmt = kernels[0]
        at = _change_at(start, fmt)
        was = m[at]
    shutil.copyfile(vendor, out)
    with open(out, "r+b") as fh:
        fh.seek(at)
        fh.write(bytes([was ^ 0xFF]))
    return {"kernel_format": fmt, "kernel_offset": start, "changed_offset": at,
            "byte_was": f"0x{was:02x}", "byte_now": f"0x{was ^ 0xFF:02x}",
            "kernels_found": len(kernels), "vendor_sha256": _sha256(vendor),
            "modified_sha256": _sha256(out)}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def watch(console, power_cycle, settings, prompts: list[str]) -> dict:
    """Power-cycle (in a thread) and watch the boot; what it showed."""
    out = {"power_cycle": "running", "bootloader_started": False, "kernel_started": False,
           "booted": "", "bootloader_said": [], "output_lines": 0,
           "ended": f"boot_wait ({settings.boot_wait:.0f}s) passed"}
    console.drain(quiet=0.2, limit=1.0)          # what the running system had sent
    worker = cycle_in_background(power_cycle, out)
    seen, end = "", time.monotonic() + settings.boot_wait
    last, progress = time.monotonic(), 0
    patterns = [settings.banner, KERNEL_STARTED, *prompts]
    while time.monotonic() < end:
        try:
            which, text = console.expect(patterns, timeout=0.5)
        except TransportTimeout:
            which, text = None, ""
        seen += text
        now_progress = len(seen) + len(console.unmatched())
        if now_progress != progress:
            last, progress = time.monotonic(), now_progress
        if which == 0:
            out["bootloader_started"] = True
        elif which == 1 and out["bootloader_started"]:
            out["kernel_started"] = True
        elif which and which >= 2 and out["bootloader_started"]:
            out["booted"] = "login prompt" if which == 2 else "shell prompt"
            out["ended"] = "booted"
            break
        if out["power_cycle"] != "running" and out["bootloader_started"] \
                and not out["kernel_started"] and time.monotonic() - last > QUIET:
            out["ended"] = f"quiet for {QUIET:.0f}s after the power cycle: no kernel came"
            break
    seen += console.unmatched()
    after = seen.split("\n")
    out["bootloader_said"] = [ln.strip()[:160] for ln in after if REFUSAL.search(ln)
                              and not re.search(r"\bOK\b", ln)][:6]
    out["output_lines"] = seen.count("\n")
    out["boot_log_tail"] = seen[-600:]
    worker.join(timeout=max(0.0, end - time.monotonic()) + 120)
    return out

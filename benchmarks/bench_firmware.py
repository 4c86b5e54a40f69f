"""Benchmark: `harness firmware` against `binwalk -e -M` (a well-known open unpacker, recursive) on the same
images, in one run: wall time, and what each found — file systems for both; for the
harness, its findings too (binwalk gives none: it unpacks, it does not judge).

Images: the emulated units' (`harness emulate image`) in each format, one behind a vendor
header. Needs no root and no lab; binwalk from Debian's package (`apt-get install binwalk`).
Not a test: nothing asserts on time.

    .venv/bin/python benchmarks/bench_firmware.py
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.emulate import image  # noqa: E402
from harness.emulate.variants import fixed_password  # noqa: E402
from harness.emulate.variants import BY_NAME  # noqa: E402

CASES = [("router-legacy-1", "squashfs"), ("router-legacy-1", "cpio"),
         ("router-legacy-1", "ext4"), ("router-legacy-1", "uimage"),
         ("appliance-open", "vendor"), ("router-1", "squashfs")]


def _image(work: Path, name: str, fmt: str) -> Path:
    v = BY_NAME[name]
    pw = fixed_password(v)
    keys = work / "keys" if v.has("shared_keys") else None
    if fmt == "vendor":
        sq = image.build(v, work / f"{name}.sqfs", "squashfs", pw, keys)
        out = work / f"{name}.vendor.bin"
        out.write_bytes(b"VNDR" + os.urandom(8188) + sq.read_bytes())
        return out
    return image.build(v, work / f"{name}.{fmt}", fmt, pw, keys)


def _harness(img: Path, out: Path) -> tuple[float, int, int]:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "harness", "firmware", str(img), "--out",
                           str(out)], capture_output=True, text=True)
    took = time.monotonic() - t0
    fss = proc.stdout.count("\nfile system ") + proc.stdout.startswith("file system ")
    fails = sum(1 for line in proc.stdout.splitlines() if line.strip().startswith("FAIL "))
    return took, fss, fails


def _binwalk(img: Path, out: Path) -> tuple[float, int]:
    t0 = time.monotonic()
    subprocess.run(["binwalk", "-e", "-M", "-q", "-C", str(out), "--run-as=root", str(img)],
                   capture_output=True, text=True)
    took = time.monotonic() - t0
    roots = 0
    for dirpath, dirnames, _files in os.walk(out):
        if "etc" in dirnames and ("bin" in dirnames or "sbin" in dirnames):
            roots += 1
    return took, roots


def main() -> None:
    if not shutil.which("binwalk"):
        print("binwalk is not installed (apt-get install binwalk): nothing to compare with")
        return
    work = Path(tempfile.mkdtemp(prefix="hx-fwbench-"))
    os.chmod(work, 0o711)
    try:
        print(f"{'image':<34}{'harness (s)':>12}{'fs':>4}{'FAIL':>6}{'binwalk (s)':>13}"
              f"{'fs':>4}{'ratio':>7}")
        th = tb = 0.0
        for name, fmt in CASES:
            img = _image(work, name, fmt)
            h, hfs, fails = _harness(img, work / f"h-{name}-{fmt}")
            b, bfs = _binwalk(img, work / f"b-{name}-{fmt}")
            th, tb = th + h, tb + b
            print(f"{img.name:<34}{h:>12.2f}{hfs:>4}{fails:>6}{b:>13.2f}{bfs:>4}{h / b:>7.2f}")
        print(f"{'total':<34}{th:>12.2f}{'':>10}{tb:>13.2f}{'':>4}{th / tb:>7.2f}")
        print("fs: root file systems found (binwalk: extracted directories holding etc/ and "
              "bin/ or sbin/); FAIL: the harness's findings of strength FAIL")
    finally:
        subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()

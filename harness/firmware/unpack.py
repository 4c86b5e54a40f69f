"""Unpack an embedded firmware image into the file systems it carries.

Formats, by their magic (nested up to `Limits.depth` layers):
- U-Boot legacy uImage (header and data CRC checked; none/gzip/bzip2/lzma payloads; multi-
  file images) and FIT (dumpimage lists and extracts each sub-image);
- gzip, bzip2, xz/lzma streams (Python's decompressors, read against the size budget);
- cpio (newc, crc, odc) and tar (bsdtar), squashfs (unsquashfs), ext2/3/4 (debugfs rdump);
- anything else: a scan for those signatures inside the blob (a vendor header, a raw flash
  dump), each found one carved out and unpacked.

Limits: total bytes written, nesting depth, wall time. The extraction tools run as `nobody`
(when we are root: no device nodes, no owner changes) with a file-size rlimit, and a
watcher stops any tool that writes past the budget. Links are extracted as they are but
never followed: harness.firmware.rootfs reads them inside the extraction directory only.
"""
from __future__ import annotations

import bz2
import gzip
import lzma
import os
import shutil
import struct
import subprocess
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

UIMAGE = b"\x27\x05\x19\x56"
FDT = b"\xd0\x0d\xfe\xed"
SIGNATURES = {            # magic -> format, for the first bytes and the carving scan
    b"hsqs": "squashfs", b"sqsh": "squashfs", UIMAGE: "uimage", FDT: "fit",
    b"\x1f\x8b\x08": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz",
    b"070701": "cpio", b"070702": "cpio", b"070707": "cpio",
}
UIMAGE_COMP = {0: "none", 1: "gzip", 2: "bzip2", 3: "lzma"}
UIMAGE_TYPES = {1: "standalone", 2: "kernel", 3: "ramdisk", 4: "multi", 5: "firmware",
                6: "script", 7: "filesystem", 8: "flat_dt"}
MAX_CARVED = 16
NOBODY = 65534


@dataclass
class Limits:
    total_bytes: int = 1 << 30
    depth: int = 5
    seconds: float = 300.0


class UnpackError(Exception):
    """The image cannot be unpacked within the limits (the message says why)."""


@dataclass
class Unpacked:
    roots: list[tuple[str, Path]] = field(default_factory=list)   # (layer chain, directory)
    layers: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Job:
    def __init__(self, work: Path, limits: Limits):
        self.work, self.limits = work, limits
        self.deadline = time.monotonic() + limits.seconds
        self.out = Unpacked()
        self.n = 0

    def left_bytes(self) -> int:
        return self.limits.total_bytes - _du(self.work)

    def left_time(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise UnpackError(f"time limit reached ({self.limits.seconds:.0f} s)")
        return left

    def new(self, suffix: str) -> Path:
        self.n += 1
        return self.work / f"{self.n:03d}.{suffix}"


def unpack(image: Path, work: Path, limits: Limits | None = None) -> Unpacked:
    """Unpack `image` under `work` (created, must be empty); the file systems found."""
    job = _Job(work, limits or Limits())
    work.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shut = [p for p in work.resolve().parents if not os.stat(p).st_mode & 0o001]
        if shut:
            raise UnpackError(f"{shut[0]} is closed to other users: the extraction tools run "
                              "as nobody and could not reach the work directory")
    if any(work.iterdir()):
        raise UnpackError(f"{work} is not empty")
    os.chmod(work, 0o755)
    _give_to_tools(work)
    first = job.new("image")        # our copy: the tools (as nobody) read only our files
    _write_capped(job, first, _file_chunks(Path(image)))
    os.chmod(first, 0o644)
    _blob(job, first, "image", 0)
    if not job.out.roots:
        job.out.notes.append("no file system found in the image")
    return job.out


def _file_chunks(path: Path):
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            yield chunk


def kind_of(head: bytes) -> str:
    for magic, kind in SIGNATURES.items():
        if head.startswith(magic):
            return kind
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if len(head) >= 1082 and head[1080:1082] == b"\x53\xef":
        return "ext"
    return ""


def _blob(job: _Job, path: Path, chain: str, depth: int) -> None:
    if depth > job.limits.depth:
        job.out.notes.append(f"{chain}: nested deeper than {job.limits.depth} layers: not opened")
        return
    job.left_time()
    with open(path, "rb") as fh:
        head = fh.read(2048)
    kind = kind_of(head)
    size = path.stat().st_size
    job.out.layers.append({"chain": chain, "format": kind or "unknown", "bytes": size})
    handler = {"uimage": _uimage, "fit": _fit, "gzip": _stream, "bzip2": _stream,
               "xz": _stream, "cpio": _archive, "tar": _archive, "squashfs": _squashfs,
               "ext": _ext}.get(kind, _carve)
    handler(job, path, f"{chain} > {kind}" if kind else chain, depth, kind)


def _uimage(job, path, chain, depth, _kind):
    data = path.read_bytes()[: 64 + (1 << 31)]
    if len(data) < 64:
        raise UnpackError(f"{chain}: truncated uImage header")
    (magic, hcrc, _t, size, _load, _ep, dcrc, _os, _arch, typ, comp) = struct.unpack(
        ">IIIIIIIBBBB", data[:32])
    header = data[:4] + b"\0\0\0\0" + data[8:64]
    if zlib.crc32(header) != hcrc:
        job.out.notes.append(f"{chain}: header CRC wrong: not a uImage after all")
        return _carve(job, path, chain, depth, "")
    payload = data[64:64 + size]
    name = data[32:64].split(b"\0")[0].decode("ascii", "replace")
    info = {"chain": chain, "uimage_name": name, "type": UIMAGE_TYPES.get(typ, str(typ)),
            "compression": UIMAGE_COMP.get(comp, str(comp)), "data_crc_ok":
            len(payload) == size and zlib.crc32(payload) == dcrc}
    job.out.layers.append(info)
    if not info["data_crc_ok"]:
        job.out.notes.append(f"{chain}: data CRC wrong or data truncated")
    parts = [payload]
    if typ == 4:                                     # multi: sizes, 0, then padded images
        sizes, off = [], 0
        while off + 4 <= len(payload) and len(sizes) < 64:
            (n,) = struct.unpack(">I", payload[off:off + 4])
            off += 4
            if n == 0:
                break
            sizes.append(n)
        parts = []
        for n in sizes:
            parts.append(payload[off:off + n])
            off += (n + 3) & ~3
    if comp not in UIMAGE_COMP:
        job.out.notes.append(f"{chain}: compression {comp} not supported: not opened")
        return
    for i, part in enumerate(parts):
        out = job.new("bin")
        _write_capped(job, out, _decompress_bytes(job, part, UIMAGE_COMP[comp], chain))
        _blob(job, out, f"{chain}[{i}:{info['type']}]", depth + 1)


def _decompress_bytes(job, data: bytes, comp: str, chain: str):
    if comp == "none":
        yield data
        return
    dec = {"gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
           "bzip2": bz2.BZ2Decompressor, "lzma": lzma.LZMADecompressor}[comp]()
    try:
        for i in range(0, len(data), 1 << 16):
            yield dec.decompress(data[i:i + (1 << 16)])
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        job.out.notes.append(f"{chain}: {comp} stream broken ({exc})")


def _write_capped(job, out: Path, chunks) -> None:
    budget = job.left_bytes()
    written = 0
    with open(out, "wb") as fh:
        for chunk in chunks:
            written += len(chunk)
            if written > budget:
                fh.close()
                out.unlink()
                raise UnpackError(f"size limit reached ({job.limits.total_bytes} bytes "
                                  "unpacked): a compression bomb or a larger image than allowed")
            fh.write(chunk)
            job.left_time()
    os.chmod(out, 0o644)


def _stream(job, path, chain, depth, kind):
    opener = {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}[kind]
    out = job.new("bin")

    def chunks():
        try:
            with opener(path, "rb") as fh:
                while True:
                    chunk = fh.read(1 << 20)
                    if not chunk:
                        return
                    yield chunk
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
            job.out.notes.append(f"{chain}: stream ends early ({exc})")
    _write_capped(job, out, chunks())
    _blob(job, out, chain, depth + 1)


def _fit(job, path, chain, depth, _kind):
    listing = _tool(job, ["dumpimage", "-l", str(path)], None, chain, quiet=True)
    count = listing.count(" Image ")
    if not count:
        job.out.notes.append(f"{chain}: a device tree without images (not a FIT image)")
        return
    for i in range(min(count, 32)):
        out = job.new("bin")
        _tool(job, ["dumpimage", "-T", "flat_dt", "-p", str(i), "-o", str(out), str(path)],
              None, chain)
        if out.exists():
            _blob(job, out, f"{chain}[{i}]", depth + 1)


def _archive(job, path, chain, depth, _kind):
    dest = job.new("d")
    _extract(job, ["bsdtar", "-x", "--no-same-owner", "--no-xattrs", "--no-acls",
                   "--no-fflags", "-f", str(path), "-C", str(dest)], dest, chain)
    _tree(job, dest, chain, depth)


def _squashfs(job, path, chain, depth, _kind):
    dest = job.new("d")
    _extract(job, ["unsquashfs", "-n", "-no-xattrs", "-d", str(dest), str(path)], dest, chain,
             make=False)
    _tree(job, dest, chain, depth)


def _ext(job, path, chain, depth, _kind):
    dest = job.new("d")
    _extract(job, ["debugfs", "-R", f"rdump / {dest}", str(path)], dest, chain)
    _tree(job, dest, chain, depth)


def _tree(job, dest: Path, chain: str, depth: int) -> None:
    """A directory that came out of an archive: a root file system, or files that are
    images themselves (a sysupgrade tarball: kernel and root file system)."""
    if any((dest / d).is_dir() and not (dest / d).is_symlink() for d in ("etc", "bin", "sbin")):
        job.out.roots.append((chain, dest))
        return
    inner = []
    for dirpath, dirnames, files in os.walk(dest, followlinks=False):
        dirnames.sort()
        for f in sorted(files):
            p = Path(dirpath, f)
            if p.is_symlink() or not p.is_file() or p.stat().st_size < 512:
                continue
            with open(p, "rb") as fh:
                if kind_of(fh.read(2048)):
                    inner.append(p)
    for p in inner[:MAX_CARVED]:
        _blob(job, p, f"{chain}/{p.relative_to(dest)}", depth + 1)


def _carve(job, path, chain, depth, _kind):
    """Known signatures anywhere in an unknown blob, each carved out from its offset."""
    found = []
    size = path.stat().st_size
    with open(path, "rb") as fh:
        data = fh.read(min(size, 256 << 20))
    for magic, kind in SIGNATURES.items():
        if kind in ("gzip", "bzip2"):
            continue                  # too common inside other data to carve blindly
        start = 1
        while len(found) < MAX_CARVED * 4:
            off = data.find(magic, start)
            if off < 0:
                break
            found.append((off, kind))
            start = off + 1
    off_tar = data.find(b"ustar", 258)
    if off_tar > 0:
        found.append((off_tar - 257, "tar"))
    if not found:
        job.out.notes.append(f"{chain}: format not recognised")
        return
    for off, kind in sorted(found)[:MAX_CARVED]:
        if kind == "squashfs" and data[off + 28:off + 30] != b"\x04\x00":
            continue                  # not a squashfs 4.0 superblock
        out = job.new("bin")
        end = size
        if kind == "squashfs":
            (used,) = struct.unpack("<Q", data[off + 40:off + 48])
            end = min(size, off + used)
        elif kind == "uimage":
            (n,) = struct.unpack(">I", data[off + 12:off + 16])
            end = min(size, off + 64 + n)
        _write_capped(job, out, [data[off:end]])
        _blob(job, out, f"{chain} @0x{off:x}", depth + 1)


def _extract(job, cmd: list[str], dest: Path, chain: str, make: bool = True) -> None:
    if make:
        dest.mkdir()
        _give_to_tools(dest)
    _tool(job, cmd, dest, chain)


def _give_to_tools(path: Path) -> None:
    """The extraction tools run as nobody when we are root: they write only here."""
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)


def _tool(job, cmd: list[str], watch: Path | None, chain: str, quiet: bool = False) -> str:
    """Run an extraction tool as nobody (when root), within the size and time budget."""
    budget = job.left_bytes()
    if budget <= 0:
        raise UnpackError(f"size limit reached ({job.limits.total_bytes} bytes unpacked)")
    prefix = ["prlimit", f"--fsize={budget}", "--"]
    if os.geteuid() == 0 and shutil.which("setpriv"):
        prefix += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
    proc = subprocess.Popen(prefix + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, text=True, errors="replace")
    over = threading.Event()

    def watcher():
        while proc.poll() is None:
            if watch is not None and _du(job.work) > job.limits.total_bytes:
                over.set()
                os.killpg(proc.pid, 9)
                return
            time.sleep(0.2)
    t = threading.Thread(target=watcher, daemon=True)
    t.start()
    try:
        out, err = proc.communicate(timeout=job.left_time())
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.communicate()
        raise UnpackError(f"{chain}: {cmd[0]} ran past the time limit "
                          f"({job.limits.seconds:.0f} s)") from None
    t.join(1)
    if over.is_set() or "File size limit exceeded" in err or proc.returncode in (-25, 153):
        raise UnpackError(f"size limit reached ({job.limits.total_bytes} bytes unpacked) "
                          f"in {chain}: a compression bomb or a larger image than allowed")
    if proc.returncode != 0 and not quiet:
        tail = " ".join(err.strip().splitlines()[-2:])[:300]
        job.out.notes.append(f"{chain}: {cmd[0]} exit {proc.returncode}: {tail}")
    return out


def _du(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path, followlinks=False):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total

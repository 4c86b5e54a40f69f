"""RAUC's bundle format (.raucb): a SquashFS image holding manifest.raucm (compatible,
version, the slot images with their SHA-256) and the images, followed by a CMS signature
and its size (8 bytes, big-endian). In the `plain` format the signature is detached over
the whole SquashFS; in the `verity` format it carries the manifest, which holds the root
hash of a dm-verity tree that follows the SquashFS. The harness reads the manifest with
squashfs-tools (bounded) and derives the variants the update test needs."""
from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

MANIFEST = "manifest.raucm"
SQUASHFS_MAGIC = b"hsqs"
TOOL_SECONDS = 60


class FormatError(ValueError):
    """Not a RAUC bundle this reader understands."""


def split(bundle: bytes) -> tuple[bytes, bytes]:
    """(the SquashFS with whatever follows it up to the signature, the CMS signature)."""
    if len(bundle) < 16 or bundle[:4] != SQUASHFS_MAGIC:
        raise FormatError("no SquashFS at the start of the file")
    size = int.from_bytes(bundle[-8:], "big")
    if not 0 < size < len(bundle) - 8 - 96:
        raise FormatError(f"no signature: its size field reads {size}")
    body, sig = bundle[:-8 - size], bundle[-8 - size:-8]
    if sig[:1] != b"\x30":
        raise FormatError("the signature is not a DER CMS structure")
    return body, sig


def squashfs_size(body: bytes) -> int:
    """bytes_used of the SquashFS superblock (a verity tree may follow it)."""
    used = int.from_bytes(body[40:48], "little")
    if not 96 <= used <= len(body):
        raise FormatError(f"a damaged SquashFS superblock (bytes_used {used})")
    return used


def _tool(*args: str, cwd: str | None = None) -> str:
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=TOOL_SECONDS, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FormatError(f"{args[0]}: {exc}") from None
    if p.returncode != 0:
        raise FormatError(f"{args[0]} failed: {(p.stderr or p.stdout).strip()[-200:]}")
    return p.stdout


def manifest(body: bytes) -> str:
    with tempfile.TemporaryDirectory(prefix="hx-raucb-") as tmp:
        sq = Path(tmp) / "bundle.sqsh"
        sq.write_bytes(body[:squashfs_size(body)])
        return _tool("unsquashfs", "-cat", str(sq), MANIFEST)


def field(text: str, section: str, key: str) -> str | None:
    """A key of one section of the manifest (a GLib key file)."""
    part = re.search(rf"^\[{re.escape(section)}\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    m = part and re.search(rf"^{re.escape(key)}\s*=\s*(.*?)\s*$", part.group(1), re.M)
    return m.group(1) if m else None


def with_version(body: bytes, new: str) -> bytes:
    """The SquashFS rebuilt with the manifest's version replaced (as `rauc bundle` builds
    it: all files owned by root, no xattrs); its signature no longer fits."""
    with tempfile.TemporaryDirectory(prefix="hx-raucb-") as tmp:
        sq, tree, out = Path(tmp) / "in.sqsh", Path(tmp) / "tree", Path(tmp) / "out.sqsh"
        sq.write_bytes(body[:squashfs_size(body)])
        _tool("unsquashfs", "-no-progress", "-d", str(tree), str(sq))
        m = tree / MANIFEST
        text, n = re.subn(r"^(version\s*=\s*).*$", lambda g: g.group(1) + new,
                          m.read_text(), count=1, flags=re.M)
        if not n:
            raise FormatError("the manifest has no version to raise")
        m.write_text(text)
        _tool("mksquashfs", str(tree), str(out), "-all-root", "-noappend", "-no-progress",
              "-no-xattrs", "-quiet")
        return out.read_bytes()


def bundle(body: bytes, signature: bytes | None) -> bytes:
    """A bundle of `body` with this signature (None: none at all, as an unsigned one)."""
    if signature is None:
        return body
    return body + signature + len(signature).to_bytes(8, "big")


def variants(valid: bytes, bump) -> dict[str, bytes | str]:
    """From the vendor's valid bundle: `tampered` (a byte of the SquashFS changed, the
    signature kept), `unsigned` (the version raised, no signature) and `untrusted` (the
    version raised, signed by a key of the harness's own). A variant that cannot be built
    is a string saying why."""
    from harness.update import swu
    try:
        body, _ = split(valid)
        text = manifest(body)
        old = field(text, "update", "version")
    except FormatError as exc:
        why = f"the valid image is not a RAUC bundle this harness reads: {exc}"
        return {k: why for k in ("tampered", "unsigned", "untrusted")}
    changed = bytearray(valid)
    changed[squashfs_size(body) // 2] ^= 0xFF
    out: dict[str, bytes | str] = {"tampered": bytes(changed)}
    fmt = field(text, "bundle", "format") or "plain"
    if fmt != "plain":
        why = (f"the bundle is in RAUC's {fmt} format: a re-signed one needs its dm-verity "
               "hash tree computed again, which this harness does not do")
        return {**out, "unsigned": why, "untrusted": why}
    if not old:
        why = "the manifest names no version to raise"
        return {**out, "unsigned": why, "untrusted": why}
    try:
        raised = with_version(body, bump(old, 1))
    except FormatError as exc:
        why = f"the bundle could not be rebuilt with a raised version: {exc}"
        return {**out, "unsigned": why, "untrusted": why}
    key, cert = swu.signer("harness test signer (not the vendor)")
    return {**out, "unsigned": bundle(raised, None),
            "untrusted": bundle(raised, swu.sign(raised, key, cert))}

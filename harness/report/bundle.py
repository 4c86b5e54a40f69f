"""Evidence bundles: a run directory packed with a manifest of every file's SHA-256, signed
with the lab's Ed25519 key; and the check that names any altered, missing or added file.

Bundle layout (tar.gz): every file of the run under `run/`, plus `MANIFEST.json`
({"format", "run_id", "created", "files": {path: sha256}, "public_key": hex,
"key_fingerprint"}) and `MANIFEST.sig` (the raw Ed25519 signature of MANIFEST.json's bytes).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import tarfile
import zlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)

from harness.errors import InputError

FORMAT = "harness-evidence-bundle/1"
SKIP = {".pytest-tmp", ".locks"}             # scratch space and unit locks, removed after a run
# a temporary password the lab must recover by hand: it stays in the run directory (0600)
WITHHELD = ("RECOVERY-",)
TOP = ("MANIFEST.json", "MANIFEST.sig")


def keygen(path: Path) -> str:
    """A new Ed25519 key: PATH (private, PEM, 0600) and PATH.pub; returns the fingerprint."""
    if path.exists():
        raise InputError("exists already; refusing to overwrite a key", str(path))
    key = Ed25519PrivateKey.generate()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    pub = _raw(key.public_key())
    from harness import safefile
    safefile.replace(Path(f"{path}.pub"), pub.hex() + "\n", 0o644)
    return fingerprint(pub)


def _raw(pub: Ed25519PublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(raw: bytes) -> str:
    return "SHA256:" + hashlib.sha256(raw).hexdigest()[:32]


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"cannot read the signing key: {exc}", str(path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError("the signing key is not an Ed25519 private key", str(path))
    return key


def _files(run_dir: Path) -> dict[str, str]:
    out = {}
    for path in sorted(run_dir.rglob("*")):
        rel = path.relative_to(run_dir)
        if rel.parts[0] in SKIP or rel.name.startswith(WITHHELD) or not path.is_file() \
                or path.is_symlink():
            continue
        with path.open("rb") as fh:           # streamed: captures can be large
            out[rel.as_posix()] = hashlib.file_digest(fh, "sha256").hexdigest()
    return out


def create(run_dir: Path, key: Ed25519PrivateKey, out: Path) -> dict:
    if not (run_dir / "run.json").is_file():
        raise InputError("not a run directory (no run.json)", str(run_dir), None, "RUN_DIR")
    run = json.loads((run_dir / "run.json").read_text())
    pub = _raw(key.public_key())
    manifest = {"format": FORMAT, "run_id": run.get("run_id"),
                "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "files": _files(run_dir), "public_key": pub.hex(),
                "key_fingerprint": fingerprint(pub)}
    body = json.dumps(manifest, indent=1, sort_keys=True).encode()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for rel in manifest["files"]:
            tar.add(run_dir / rel, arcname=f"run/{rel}", recursive=False)
        for name, data in (("MANIFEST.json", body), ("MANIFEST.sig", key.sign(body))):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(dt.datetime.now().timestamp()), 0o600
            tar.addfile(info, io.BytesIO(data))
    return manifest


def _member_problem(m: tarfile.TarInfo, seen: set[str]) -> str | None:
    """Why a member cannot be part of a verified bundle (None: it may)."""
    name = m.name
    if not m.isfile():
        kind = "a link" if m.issym() or m.islnk() else "a directory" if m.isdir() \
            else "not a regular file"
        return f"{name}: {kind} (a bundle holds regular files only)"
    parts = name.split("/")
    if name.startswith("/") or ".." in parts or "" in parts or "." in parts or "\\" in name:
        return f"{name}: a path outside the bundle's root"
    if name not in TOP and parts[0] != "run":
        return f"{name}: outside run/ (only {', '.join(TOP)} stand beside it)"
    if name in seen:
        return f"{name}: appears twice"
    return None


def verify(bundle: Path, expected_keys=(), extract: Path | None = None) -> dict:
    """{'ok', 'signature', 'signer', 'key_fingerprint', 'altered', 'missing', 'added',
    'refused', 'run_id'}. Every member's hash is checked, whatever its size; a member that is
    not a regular file, a duplicate or a path outside the bundle's root is refused and the
    bundle is not verified. `expected_keys`: the signers the verifier trusts (fingerprints
    or public keys); none: the signer is unknown and the bundle is not verified. With
    `extract`, the verified files are written there (a new or empty directory), never
    through a link. InputError when the file is not a bundle at all."""
    try:
        tar = tarfile.open(bundle, mode="r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise InputError(f"not a readable evidence bundle: {exc}", str(bundle)) from None
    seen, top, refused = {}, {}, []
    try:
        with tar:
            for m in tar:
                why = _member_problem(m, set(seen) | set(top))
                if why:
                    refused.append(why)
                    continue
                digest, data = hashlib.sha256(), b""
                fh = tar.extractfile(m)
                while chunk := fh.read(1 << 20):           # streamed, whatever its size
                    digest.update(chunk)
                    if m.name in TOP and len(data) < (1 << 20):
                        data += chunk
                if m.name in TOP:
                    top[m.name] = data
                else:
                    seen[m.name[4:]] = digest.hexdigest()
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        raise InputError(f"a damaged evidence bundle: {exc}", str(bundle)) from None
    manifest_raw, sig = top.get("MANIFEST.json"), top.get("MANIFEST.sig")
    if manifest_raw is None or sig is None:
        raise InputError("no MANIFEST.json/MANIFEST.sig: not an evidence bundle", str(bundle))
    try:
        manifest = json.loads(manifest_raw)
        pub = bytes.fromhex(manifest["public_key"])
        listed = manifest["files"]
        if not isinstance(listed, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise InputError("the manifest is damaged", str(bundle), None, "MANIFEST.json") from None
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, manifest_raw)
        signature = "valid"
    except (InvalidSignature, ValueError):
        signature = "INVALID"
    fp = fingerprint(pub)
    trusted = [k for k in expected_keys if k]
    if not trusted:
        signer = "unknown: no trusted key given (--key, the lab config's trusted_keys)"
    elif fp in trusted or pub.hex() in trusted:
        signer = "trusted"
    else:
        signer = f"not trusted: signed by another key ({fp})"
    out = {"run_id": manifest.get("run_id"), "signature": signature, "signer": signer,
           "key_fingerprint": fp,
           "altered": sorted(p for p in listed if p in seen and seen[p] != listed[p]),
           "missing": sorted(p for p in listed if p not in seen),
           "added": sorted(p for p in seen if p not in listed), "refused": refused,
           "files": len(listed)}
    out["ok"] = signature == "valid" and signer == "trusted" and not (
        out["altered"] or out["missing"] or out["added"] or refused)
    if extract is not None and out["ok"]:
        _extract(bundle, extract, listed)
    return out


def _extract(bundle: Path, dest: Path, listed: dict) -> None:
    """Write the verified files under `dest` (new or empty): each created afresh
    (O_EXCL|O_NOFOLLOW), its directories made here, and its hash checked again on the way."""
    if dest.exists() and (dest.is_symlink() or not dest.is_dir() or any(dest.iterdir())):
        raise InputError("must be a new or empty directory (not a link)", str(dest), None,
                         "--extract")
    dest.mkdir(parents=True, exist_ok=True)
    root = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        with tarfile.open(bundle, mode="r:gz") as tar:
            for m in tar:
                if not m.isfile() or not m.name.startswith("run/") or m.name[4:] not in listed:
                    continue
                parts = m.name[4:].split("/")
                d = os.dup(root)
                try:
                    for part in parts[:-1]:
                        try:
                            os.mkdir(part, 0o700, dir_fd=d)
                        except FileExistsError:
                            pass
                        nd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                                     dir_fd=d)
                        os.close(d)
                        d = nd
                    fd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                                 os.O_NOFOLLOW, 0o600, dir_fd=d)
                    digest, src = hashlib.sha256(), tar.extractfile(m)
                    with os.fdopen(fd, "wb") as fh:
                        while chunk := src.read(1 << 20):
                            digest.update(chunk)
                            fh.write(chunk)
                    if digest.hexdigest() != listed[m.name[4:]]:
                        raise InputError(f"{m.name} changed while extracting", str(bundle))
                finally:
                    os.close(d)
    finally:
        os.close(root)

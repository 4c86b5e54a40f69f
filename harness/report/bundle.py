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
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)

from harness.errors import InputError

FORMAT = "harness-evidence-bundle/1"
SKIP = {".pytest-tmp", ".locks"}             # scratch space and unit locks, removed after a run
MAX_MEMBER = 1 << 30


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
    Path(f"{path}.pub").write_text(pub.hex() + "\n")
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
        if rel.parts[0] in SKIP or not path.is_file() or path.is_symlink():
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


def verify(bundle: Path, expected_key: str | None = None) -> dict:
    """{'ok', 'signature', 'key_fingerprint', 'altered', 'missing', 'added', 'run_id'}.
    InputError when the file is not a bundle at all."""
    try:
        tar = tarfile.open(bundle, mode="r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise InputError(f"not a readable evidence bundle: {exc}", str(bundle)) from None
    seen, manifest_raw, sig = {}, None, None
    with tar:
        for m in tar:
            if not m.isfile() or m.size > MAX_MEMBER:
                continue
            data = tar.extractfile(m).read()
            if m.name == "MANIFEST.json":
                manifest_raw = data
            elif m.name == "MANIFEST.sig":
                sig = data
            elif m.name.startswith("run/"):
                seen[m.name[4:]] = hashlib.sha256(data).hexdigest()
            else:
                seen[m.name] = hashlib.sha256(data).hexdigest()
    if manifest_raw is None or sig is None:
        raise InputError("no MANIFEST.json/MANIFEST.sig: not an evidence bundle", str(bundle))
    try:
        manifest = json.loads(manifest_raw)
        pub = bytes.fromhex(manifest["public_key"])
        listed = manifest["files"]
    except (ValueError, KeyError, TypeError):
        raise InputError("the manifest is damaged", str(bundle), None, "MANIFEST.json") from None
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, manifest_raw)
        signature = "valid"
    except (InvalidSignature, ValueError):
        signature = "INVALID"
    fp = fingerprint(pub)
    if expected_key and expected_key not in (fp, pub.hex()):
        signature = f"valid but by another key ({fp})" if signature == "valid" else signature
    out = {"run_id": manifest.get("run_id"), "signature": signature, "key_fingerprint": fp,
           "altered": sorted(p for p in listed if p in seen and seen[p] != listed[p]),
           "missing": sorted(p for p in listed if p not in seen),
           "added": sorted(p for p in seen if p not in listed), "files": len(listed)}
    out["ok"] = signature == "valid" and not (out["altered"] or out["missing"] or out["added"])
    return out

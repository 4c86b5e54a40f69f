"""`harness firmware IMAGE`: unpack a firmware image, gather its evidence, say what it
means per requirement, and keep it (firmware.json) with the image's SHA-256."""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from harness.errors import InputError
from harness.termsafe import clean


def add_parser(sub) -> None:
    f = sub.add_parser("firmware", help="unpack a firmware image (uImage/FIT, squashfs, cpio, "
                       "tar, ext2/4, compressed) and read its accounts, keys, software, boot "
                       "services and update checks, per requirement")
    f.add_argument("image", type=Path)
    f.add_argument("--profile", help="the unit's profile: its documented defaults are "
                   "checked too, and its declared services compared with the image's")
    f.add_argument("--credentials", help="credential list (default: the built-in)")
    f.add_argument("--lab", help="lab config: its vulnerability database is matched against "
                   "the image's software (default: the built-in)")
    f.add_argument("--out", type=Path, help="directory for firmware.json (default: "
                   "reports/firmware-<first 12 hex of the image's SHA-256>)")
    f.add_argument("--max-bytes", type=int, default=1 << 30, help="stop unpacking past this "
                   "many bytes written (default 1 GiB)")
    f.add_argument("--max-seconds", type=float, default=300.0, help="stop unpacking after "
                   "this long (default 300)")


def run(args) -> int:
    from harness.firmware import evidence
    from harness.firmware.unpack import Limits, UnpackError, unpack
    from harness.probe.credentials import DEFAULT_LIST, load_list
    image = args.image
    if not image.is_file():
        raise InputError("no such file (a firmware image is needed)", str(image), None, "image")
    if args.max_bytes <= 0 or args.max_seconds <= 0:
        raise InputError("limits must be positive", None, None, "--max-bytes/--max-seconds")
    entries = load_list(args.credentials or DEFAULT_LIST)
    profile = None
    if args.profile:
        from harness.profile.loader import load_profile
        profile, _ = load_profile(args.profile)
    sha = evidence.sha256_file(image)
    from harness import scratch
    work = scratch.make("fw", 0o711)     # the extraction tools (as nobody) must reach inside
    started = time.monotonic()
    try:
        try:
            got = unpack(image, work / "x", Limits(args.max_bytes, seconds=args.max_seconds))
        except UnpackError as exc:
            raise InputError(f"cannot unpack: {exc}", str(image), None, "image") from None
        fss = evidence.collect(got.roots, entries, profile.default_credentials if profile
                               else ())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not got.roots:
        raise InputError("no file system found in the image (" + "; ".join(got.notes)
                         + "): nothing to evaluate. Formats: U-Boot uImage/FIT, squashfs, "
                         "cpio, tar, ext2/3/4, gzip/bzip2/xz", str(image), None, "image")
    found = evidence.findings(fss)
    notes = got.notes + _vulnerabilities(args, evidence, fss, found)
    doc = {"image": str(image), "sha256": sha, "bytes": image.stat().st_size,
           "seconds": round(time.monotonic() - started, 2), "layers": got.layers,
           "notes": notes, "filesystems": fss, "findings": found,
           "disagreements": evidence.compare(fss, profile) if profile else [],
           "profile": args.profile}
    out = args.out or Path("reports") / f"firmware-{sha[:12]}"
    out.mkdir(parents=True, exist_ok=True)
    from harness import safefile
    safefile.replace(out / "firmware.json", json.dumps(doc, indent=1), mode=0o644)
    _print(doc, out / "firmware.json")
    return 1 if any(f["strength"] == "FAIL" for f in found) else 0


def _vulnerabilities(args, evidence, fss, found) -> list[str]:
    """Adds TC-VULN-01's image findings; the notes say when the database cannot decide."""
    from harness.lab.config import load_lab
    from harness.vuln import db as vulndb
    lab, lab_path = load_lab(args.lab)
    where = lab.vulndb_dir(lab_path)
    db = vulndb.load(where)
    if db.missing():
        return [f"software not matched against known vulnerabilities: {db.missing()} "
                "(harness vulndb import FILE...)"]
    found += evidence.vulnerabilities(fss, db)
    return [f"software matched against {where}"]


def _print(doc: dict, where: Path) -> None:
    w = sys.stdout.write
    w(f"image {clean(doc['image'])}  sha256 {doc['sha256']}  {doc['bytes']} bytes, "
      f"unpacked in {doc['seconds']} s\n")
    for layer in doc["layers"]:
        if "format" in layer:
            w(f"  layer {clean(layer['chain'])}: {layer['format']}, {layer['bytes']} bytes\n")
    for note in doc["notes"]:
        w(f"  note: {clean(note)}\n")
    for fsd in doc["filesystems"]:
        logins = [a["user"] for a in fsd["accounts"] if a["login_shell"]]
        w(f"file system {clean(fsd['layer'])}: {len(fsd['accounts'])} accounts "
          f"({len(logins)} with a login shell), {len(fsd['private_keys'])} private keys, "
          f"{fsd['certificate_count']} certificates, {len(fsd['software'])} software "
          f"components, {len(fsd['boot']['started'])} services started at boot\n")
    for f in doc["findings"]:
        where_ = f" [{clean(f['where'])}]" if f.get("where") else ""
        w(f"  {f['strength']:<9} {clean(f['finding'])}{where_} — {' '.join(f['requirements'])}\n")
    for d in doc["disagreements"]:
        w(f"  IMAGE≠PROFILE {clean(d)}\n")
    w(f"evidence: {where}\n")

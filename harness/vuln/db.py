"""The lab's local vulnerability database: feeds imported with `harness vulndb import`.

Nothing is downloaded at run time. Each imported file is kept in plain form with its kind,
its own date, its SHA-256 and when it was imported; a run records exactly which files (by
hash) each verdict used. Importing a file with the same name as an earlier one replaces it;
a new KEV catalog replaces the old one.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from harness.errors import InputError
from harness.vuln import feeds

INDEX = "index.json"


def import_files(db_dir: Path, files: list[Path]) -> list[dict]:
    """Parse and store each feed file; returns their index entries. InputError on a file
    that is not one of the known formats (nothing is stored then)."""
    parsed = []
    for path in files:
        feeds.check_file(path)
        kind = feeds.kind_of_file(path)
        if not kind:
            raise InputError("not a CISA KEV catalog, an OSV advisory (list) or an NVD CVE "
                             "API 2.0 file", str(path))
        head = feeds.header(path)
        items = feeds.entries(path, kind)                 # a stream: never the whole tree
        body = feeds.parse_kev(items, str(path), head) if kind == "kev" else \
            {"osv": feeds.parse_osv, "nvd": feeds.parse_nvd}[kind](items, str(path))
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        count = len(body["cves"]) if kind == "kev" else len(body)
        date = str(head.get("dateReleased") or "") if kind == "kev" else \
            str(head.get("timestamp") or "") if kind == "nvd" else \
            max((str(v.get("modified", "")) for v in body if isinstance(v, dict)), default="")
        parsed.append(({"file": path.name, "kind": kind, "sha256": digest, "date": date,
                        "entries": count,
                        "imported": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                        "stored": f"{digest[:24]}.json"}, body))
    db_dir.mkdir(parents=True, exist_ok=True)
    with open(db_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        index = _index(db_dir)
        ours = {e["stored"] for e in index}          # files this tool wrote before
        for entry, body in parsed:
            _write(db_dir / entry["stored"], body)
            index = [e for e in index if not (e["file"] == entry["file"] or
                                              kind_is(e, "kev") and entry["kind"] == "kev")]
            index.append(entry)
        _write(db_dir / INDEX, {"feeds": index})
        # only the stored feeds an import replaced: never a file this tool did not write
        for name in ours - {e["stored"] for e in index}:
            (db_dir / name).unlink(missing_ok=True)
    return [e for e, _ in parsed]


def kind_is(entry: dict, kind: str) -> bool:
    return entry.get("kind") == kind


def _write(path: Path, obj) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)


STORED = re.compile(r"^[0-9a-f]{24}\.json$")


def _index(db_dir: Path) -> list[dict]:
    """The index, each entry naming a stored file of ours (a name of our own form: an
    edited index cannot point the tool at another file)."""
    try:
        feeds_ = json.loads((db_dir / INDEX).read_text())["feeds"]
        if not all(isinstance(e, dict) and STORED.match(str(e.get("stored", "")))
                   for e in feeds_):
            raise ValueError
        return feeds_
    except FileNotFoundError:
        return []
    except (ValueError, KeyError, TypeError, RecursionError):
        raise InputError("the vulnerability database index is damaged: import the feeds "
                         "again", str(db_dir / INDEX)) from None


@dataclass
class VulnDB:
    path: Path
    sources: list[dict] = field(default_factory=list)
    kev: dict = field(default_factory=dict)            # CVE -> KEV entry
    advisories: list[dict] = field(default_factory=list)

    @property
    def has_kev(self) -> bool:
        return any(kind_is(s, "kev") for s in self.sources)

    @property
    def has_versions(self) -> bool:
        return any(s["kind"] in ("osv", "nvd") for s in self.sources)

    def missing(self) -> str:
        """What the database lacks to decide ("" when it can): the KEV catalog and a
        versioned feed are both needed."""
        lacks = [what for what, ok in (("the CISA KEV catalog", self.has_kev),
                                       ("an OSV or NVD export (versions)", self.has_versions))
                 if not ok]
        return f"not imported in {self.path}: {' nor '.join(lacks)}" if lacks else ""

    @cached_property
    def index(self) -> dict:
        """Advisory entries by lookup key (built once per loaded database)."""
        from harness.vuln.match import index
        return index(self)

    def describe(self) -> list[dict]:
        """What a run records: each feed's kind, name, own date, hash, import time."""
        return [{k: s[k] for k in ("kind", "file", "date", "sha256", "imported", "entries")}
                for s in self.sources]


def load(db_dir: Path) -> VulnDB:
    """The database as imported now. Loaded once per process and database state (a full NVD
    export is hundreds of MB; a worker tests several devices)."""
    try:
        stamp = (db_dir / INDEX).stat().st_mtime_ns
    except FileNotFoundError:
        stamp = 0
    return _load(str(db_dir.resolve()), stamp)


@lru_cache(maxsize=2)
def _load(db_path: str, _stamp: int) -> VulnDB:
    db_dir = Path(db_path)
    db = VulnDB(db_dir)
    for entry in _index(db_dir):
        try:
            body = json.loads((db_dir / entry["stored"]).read_text())
        except (OSError, ValueError):
            raise InputError("a stored feed is missing or damaged: import it again", str(
                db_dir / entry["stored"]), None, entry.get("file")) from None
        db.sources.append(entry)
        if entry["kind"] == "kev":
            db.kev.update(body["cves"])
        else:
            for adv in body:
                adv["feed"] = entry["file"]
            db.advisories.extend(body)
    return db

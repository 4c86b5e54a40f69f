"""Authorisation of a report (ISO/IEC 17025 §7.8.2.1 o): `harness approve RUN_DIR --key KEY
--name NAME --role ROLE` records who authorised the report, their role and when, bound to
the run's run.json by its SHA-256 and signed with the lab's Ed25519 key. The report shows
it; a report without a valid approval (none, a bad signature, or a run.json that changed
since — a resumed run, an edit) says DRAFT on every page."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from harness.errors import InputError

FILE, SIG = "approval.json", "approval.sig"


def _digest(run_dir: Path) -> str:
    return "sha256:" + hashlib.sha256((run_dir / "run.json").read_bytes()).hexdigest()


def approve(run_dir: Path, key, name: str, role: str) -> dict:
    from harness import safefile
    from harness.report import bundle
    run_dir = Path(run_dir)
    if not (run_dir / "run.json").is_file():
        raise InputError("not a run directory (no run.json)", str(run_dir), None, "RUN_DIR")
    for field, value in (("--name", name), ("--role", role)):
        if not value or not value.strip() or len(value) > 200 or any(c < " " for c in value):
            raise InputError("give a name of a person and a role (printable, at most 200 "
                             "characters)", None, None, field)
    run = json.loads((run_dir / "run.json").read_text())
    if not run.get("complete"):
        raise InputError("the run did not finish (stopped or interrupted): finish it with "
                         "harness run --resume before approving", str(run_dir), None,
                         "RUN_DIR")
    pub = bundle._raw(key.public_key())
    record = {"run_id": run["run_id"], "run_json": _digest(run_dir), "name": name.strip(),
              "role": role.strip(),
              "approved_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "public_key": pub.hex(), "key_fingerprint": bundle.fingerprint(pub)}
    body = json.dumps(record, indent=1, sort_keys=True).encode()
    safefile.replace(run_dir / FILE, body, 0o644)
    safefile.replace(run_dir / SIG, key.sign(body), 0o644)
    return record


def status(run_dir: Path) -> dict:
    """{'approved': bool, 'why': ..., and the record's fields when there is one}."""
    run_dir = Path(run_dir)
    try:
        body = (run_dir / FILE).read_bytes()
        sig = (run_dir / SIG).read_bytes()
    except FileNotFoundError:
        return {"approved": False, "why": "not approved (harness approve RUN_DIR --key KEY "
                "--name NAME --role ROLE)"}
    try:
        record = json.loads(body)
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(record["public_key"])).verify(sig, body)
    except (ValueError, KeyError, TypeError, InvalidSignature):
        return {"approved": False, "why": "the approval's signature does not verify"}
    if record.get("run_json") != _digest(run_dir):
        return {"approved": False, **record,
                "why": "run.json changed after the approval (resumed or edited): approve again"}
    return {"approved": True, "why": "", **record}

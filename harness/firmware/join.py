"""The firmware image beside the running unit: a profile's `firmware_image` is analysed
once per run and device, and each test case it bears on (evidence.TEST_CASE) records what
the image shows. The image adds, it never clears: a FAIL it shows makes the test case FAIL
whatever the unit did, with the unit's own outcome kept in the reason (a disagreement
stated, not hidden); an image that shows nothing changes no verdict, since an image
cannot prove that the unit lacks a flaw. Cross-unit test cases (decided over every unit at
the end) only record it."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from harness.model.verdict import Verdict


def analyse(path: Path, documented=(), db=None) -> dict:
    """sha256, findings and notes of one image; {"error": ...} when it cannot be read. With
    the lab's vulnerability database (`db`), its software is matched as TC-VULN-01 does."""
    from harness.firmware import evidence
    from harness.firmware.cli import sha256_file
    from harness.firmware.unpack import UnpackError, unpack
    from harness.probe.credentials import load_list
    work = Path(tempfile.mkdtemp(prefix="hx-fw-"))
    os.chmod(work, 0o711)
    try:
        sha = sha256_file(path)
        got = unpack(path, work / "x")
        fss = evidence.collect(got.roots, load_list(), documented)
        if not got.roots:
            return {"sha256": sha, "error": "no file system found: " + "; ".join(got.notes)}
        found = evidence.findings(fss)
        notes = list(got.notes)
        if db is not None:
            found += evidence.vulnerabilities(fss, db)
        else:
            notes.append("software not matched: the lab has no vulnerability database")
        return {"sha256": sha, "findings": found, "notes": notes}
    except (OSError, UnpackError) as exc:
        return {"error": f"cannot read the image: {exc}"}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _vulndb(ctx):
    """The lab's vulnerability database when it can decide (KEV and versions), else None."""
    from harness.vuln import db as vulndb
    db = vulndb.load(ctx.lab.vulndb_dir(ctx.lab_path))
    return db if db.has_kev and db.has_versions else None


def join(device, test_id: str, verdict: Verdict, reason: str, ev, deferred: bool, ctx):
    """(verdict, reason) with the image's evidence for this test case added."""
    from harness.firmware.evidence import TEST_CASE
    path = device.profile.firmware_image
    if not path or test_id not in TEST_CASE.values():
        return verdict, reason
    img = device.cached("firmware-image", lambda: analyse(
        Path(path), device.profile.default_credentials, _vulndb(ctx)))
    if "error" in img:
        ev.record("firmware image", {"image": path, **img})
        return verdict, reason
    mine = [f for f in img["findings"] if f["test_case"] == test_id]
    ev.record("firmware image", {"image": path, "sha256": img["sha256"], "findings": mine,
                                 **({"notes": img["notes"]} if img["notes"] else {})})
    fails = [f["finding"] for f in mine if f["strength"] == "FAIL"]
    if not fails or deferred or verdict is Verdict.FAIL:
        return verdict, reason
    unit = f"; the unit itself: {verdict.value}" + (f" ({reason})" if reason else "")
    return Verdict.FAIL, (f"the firmware image ({img['sha256'][:12]}) shows: "
                          + "; ".join(fails) + unit)

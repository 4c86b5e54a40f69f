"""The firmware image beside the running unit: a profile's `firmware_image` is analysed
once per run and device, and each test case it bears on (evidence.TEST_CASE) records what
the image shows. The image adds, it never clears: a FAIL it shows makes the test case FAIL
whatever the unit did, with the unit's own outcome kept in the reason (a disagreement
stated, not hidden); an image that shows nothing changes no verdict, since an image
cannot prove that the unit lacks a flaw. Cross-unit test cases (decided over every unit at
the end) only record it."""
from __future__ import annotations

import shutil
from pathlib import Path

from harness.model.verdict import Verdict


def analyse(path: Path, documented=(), db=None, own=()) -> dict:
    """sha256, findings, notes, the fingerprints units are compared by and the services it
    starts at boot, of one image; {"error": ...} when it cannot be read. With the lab's
    vulnerability database (`db`), its software is matched as TC-VULN-01 does; `own`: the
    unit's passwords, looked for among the shipped hashes."""
    from harness.firmware import evidence
    from harness.firmware.unpack import UnpackError, unpack
    from harness.probe.credentials import load_list
    from harness import scratch
    work = scratch.make("fw", 0o711)     # the extraction tools (as nobody) reach inside
    try:
        sha = evidence.sha256_file(path)
        got = unpack(path, work / "x")
        fss = evidence.collect(got.roots, load_list(), documented, own)
        if not got.roots:
            return {"sha256": sha, "error": "no file system found: " + "; ".join(got.notes)}
        found = evidence.findings(fss)
        notes = list(got.notes)
        if db is not None:
            found += evidence.vulnerabilities(fss, db)
        else:
            notes.append("software not matched: the lab has no vulnerability database")
        return {"sha256": sha, "findings": found, "notes": notes,
                "prints": evidence.prints(fss),
                "started": [x for fsd in fss for x in fsd["boot"]["started"]]}
    except (OSError, UnpackError) as exc:
        return {"error": f"cannot read the image: {exc}"}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _vulndb(ctx):
    """The lab's vulnerability database when it can decide (KEV and versions), else None."""
    from harness.vuln import db as vulndb
    db = vulndb.load(ctx.lab.vulndb_dir(ctx.lab_path))
    return None if db.missing() else db


def join(device, test_id: str, verdict: Verdict, reason: str, ev, deferred: bool, ctx):
    """(verdict, reason) with the image's evidence for this test case added."""
    from harness.firmware.evidence import TEST_CASE
    path = device.profile.firmware_image
    if not path or test_id not in TEST_CASE.values():
        return verdict, reason
    img = device.cached("firmware-image", lambda: analyse(
        Path(path), device.profile.default_credentials, _vulndb(ctx),
        device.profile.secrets()))
    if "error" in img:
        ev.record("firmware image", {"image": path, **img})
        return verdict, reason
    mine = [f for f in img["findings"] if f["test_case"] == test_id]
    ev.record("firmware image", {"image": path, "sha256": img["sha256"], "findings": mine,
                                 **({"notes": img["notes"]} if img["notes"] else {})})
    if test_id == "TC-SURF-01":
        differ = unseen(img["started"], device.cache.get("scan"))
        if differ:
            ev.record("image and unit disagree", differ)
    fails = [f["finding"] for f in mine if f["strength"] == "FAIL"]
    if deferred:                        # decided over every unit: the image goes along
        ev.observation = {**ev.observation, "image": {
            "sha256": img["sha256"], "fails": fails, **img["prints"]}}
        return verdict, reason
    if not fails or verdict is Verdict.FAIL:
        return verdict, reason
    unit = f"; the unit itself: {verdict.value}" + (f" ({reason})" if reason else "")
    return Verdict.FAIL, (f"the firmware image ({img['sha256'][:12]}) shows: "
                          + "; ".join(fails) + unit)


WELL_KNOWN = {"ssh": (22,), "telnet": (23,), "http": (80, 443, 8080, 8443), "ftp": (21,),
              "mqtt": (1883, 8883), "tftp": (69,), "snmp": (161,), "upnp": (1900, 5000)}


def unseen(started: list[dict], scans) -> list[str]:
    """Services the image starts at boot on a port the unit's scan found open on none of
    its addresses (the port the boot line names, else the service's well-known ports).
    Empty when the run has no scan of the unit (nothing is sent to find out)."""
    if not scans:
        return []
    seen = {p for s in scans for p in (*s.tcp_open, *s.udp_open)}
    out = []
    for x in started:
        ports = (x["port"],) if x.get("port") else WELL_KNOWN.get(x["service"], ())
        if ports and not seen & set(ports):
            out.append(f"{x['where']}: the image starts {x['daemon']} ({x['service']}) at "
                       f"boot; the scan saw nothing on port {'/'.join(map(str, ports))}")
    return out


def shared(observation: dict, peers: list, kind: str, what: str) -> tuple[list[str], list]:
    """Cross-unit: what the image alone shows (its FAIL findings) and the fingerprints
    (`kind`: "accounts" or "keys") its image shares with another unit's image of the model.
    Returns (problems, evidence items)."""
    img = observation.get("image")
    if not img:
        return [], []
    mine = set(img.get(kind, ()))
    problems = list(img["fails"])
    with_ = {}
    for d, theirs in peers:
        other = (theirs or {}).get("image") or {}
        common = mine & set(other.get(kind, ()))
        if common:
            with_[d.name] = sorted(c.split(":")[0] if kind == "accounts" else c
                                   for c in common)
            problems.append(f"its firmware image ships the same {what} as {d.name}'s ("
                            + ", ".join(with_[d.name]) + ")")
    compared = [d.name for d, theirs in peers if (theirs or {}).get("image")]
    return problems, [{"check": f"firmware image: no {what} shared with another unit's image",
                       "expected": "unique per unit",
                       "observed": {"image": img["sha256"][:16], "compared with": compared,
                                    "shared with": with_, "the image alone": img["fails"]},
                       "ok": not problems}]

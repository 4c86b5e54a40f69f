"""Views of run.json for people: what was verified on the device apart from what was
evaluated from the vendor's documents, the overview of devices × schemes, and the
documents a vendor still owes. Pure functions of run.json (every output renders from it)."""
from __future__ import annotations

from harness import ts103701
from harness.model.verdict import (LEGACY_DOCUMENT_PREFIX, PROBLEMS, from_documents,
                                   rank)

SCHEME_ORDER = ("jcstar-l1",)          # JC-STAR ★1 first, the others in catalog order


def device_results(device: dict) -> list[dict]:
    """Results of the tests that probed the device, problems first."""
    return sorted((r for r in device["results"] if not from_documents(r)),
                  key=lambda r: rank(r["verdict"]))


def findings(device: dict) -> list[dict]:
    """What the device itself showed: its FAIL, ERROR and INCONCLUSIVE results."""
    return [r for r in device_results(device) if r["verdict"] in PROBLEMS]


def documents_owed(device: dict) -> list[dict]:
    """Each declaration the vendor has not given (or not completely), with the profile field
    that would satisfy it and the requirements waiting on it."""
    out = []
    for r in device["results"]:
        if not from_documents(r) or r["verdict"] not in PROBLEMS:
            continue
        decl = next((e["observed"] for e in r.get("evidence", [])
                     if e.get("check") == "declaration needed"), None) or {}
        key = decl.get("key", r["test_id"].removeprefix(LEGACY_DOCUMENT_PREFIX))
        out.append({"test_id": r["test_id"], "requirements": r["requirements"],
                    "field": f"declarations.{key}", "missing": decl.get("missing", []),
                    "verdict": r["verdict"], "reason": r["reason"]})
    return out


def split_counts(device: dict) -> dict[str, dict[str, int]]:
    """Verdict counts, device tests apart from document checks."""
    out: dict[str, dict[str, int]] = {"device": {}, "documents": {}}
    for r in device["results"]:
        side = out["documents" if from_documents(r) else "device"]
        side[r["verdict"]] = side.get(r["verdict"], 0) + 1
    return {k: dict(sorted(v.items(), key=lambda kv: rank(kv[0]))) for k, v in out.items()}


def run_counts(run: dict) -> dict[str, dict[str, int]]:
    """Test-case verdicts over the run: "device tests" and "declaration checks"."""
    out: dict[str, dict[str, int]] = {"device tests": {}, "declaration checks": {}}
    for d in run["devices"]:
        for side, counts in zip(out, split_counts(d).values()):
            for v, n in counts.items():
                out[side][v] = out[side].get(v, 0) + n
    return {k: dict(sorted(v.items(), key=lambda kv: rank(kv[0]))) for k, v in out.items()}


def ordered_schemes(run: dict) -> list[dict]:
    first = [s for key in SCHEME_ORDER for s in run["schemes"] if s["scheme"] == key]
    return first + [s for s in run["schemes"] if s["scheme"] not in SCHEME_ORDER]


def overview(run: dict) -> dict:
    """Devices × schemes: each cell the requirement counts by verdict, weakest first."""
    schemes = ordered_schemes(run)
    rows = []
    for d in run["devices"]:
        cells = []
        for s in schemes:
            counts: dict[str, int] = {}
            for q in s["requirements"]:
                v = q["verdicts"].get(d["name"], "NOT_RUN")
                counts[v] = counts.get(v, 0) + 1
            cells.append(dict(sorted(counts.items(), key=lambda kv: rank(kv[0]))))
        rows.append({"device": d["name"], "cells": cells,
                     "findings": len(findings(d)), "owed": len(documents_owed(d))})
    return {"schemes": [{"scheme": s["scheme"], "title": s["title"]} for s in schemes],
            "rows": rows}


def deviations(run: dict) -> list[str]:
    """What departs from the full method: tests not run, interruptions, provisional mappings."""
    out = []
    if not run["allow_destructive"]:
        out.append("destructive test cases (brute force, password change, update, factory "
                   "reset, remote-operation disruption) were not run: started without "
                   "--allow-destructive")
    if run.get("selection"):
        out.append(f"a selection of test cases was run: {run['selection']}")
    for i in run.get("interrupted", []):
        out.append(f"{i['device']} {i['test_id']}: interrupted ({i['noted']}); re-run on resume")
    if run.get("resumed"):
        out.append(f"the run was resumed at {', '.join(run['resumed'])}")
    for d in run["devices"]:
        n = sum(r["verdict"] == "NOT_RUN" for r in d["results"])
        if n:
            out.append(f"{d['name']}: {n} test case(s) NOT_RUN (reasons in the device section)")
    prov = sorted({q["id"] for s in run["schemes"] for q in s["requirements"]
                   if q["provisional"]})
    if prov:
        out.append(f"{len(prov)} requirement mapping(s) are provisional (not yet confirmed "
                   f"against the primary document): {', '.join(prov)}")
    if not run["complete"]:
        out.append("the run did not finish: results are those gathered before it stopped")
    return out


# ---- for a reviewer: a sentence per finding, key evidence per row, compact values
def compact(value, limit: int = 600) -> str:
    """A value as a short line (JSON for structures), cut at `limit` characters with a note
    that run.json holds it whole."""
    import json
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           sort_keys=False, default=str)
    if len(text) > limit:
        text = text[:limit] + f" … ({len(text)} characters; whole in run.json)"
    # break opportunities in long tokens (a page lays out faster than with break-anywhere)
    return text.replace(",", ",\u200b").replace("/", "/\u200b")


def summary_sentence(result: dict) -> str:
    """What was tried and what was seen, in one sentence."""
    steps = result.get("steps") or []
    tried = steps[0].rstrip(".") if steps else result.get("title", "")
    more = f" (and {len(steps) - 1} more step{'s' if len(steps) > 2 else ''})" \
        if len(steps) > 1 else ""
    seen = result.get("reason") or "every check held"
    return f"Tried: {tried}{more}; seen: {seen}."


def key_evidence(result: dict, limit: int = 3) -> list[dict]:
    """The checks with an expectation (what the verdict rests on), first `limit`."""
    return [e for e in result.get("evidence", []) if "expected" in e][:limit]


def scheme_rollup(scheme: dict, devices: list[str]) -> list[dict]:
    """Per requirement: its verdicts over the devices, counted, naming the devices where it
    is not PASS/DECLARED/NOT_APPLICABLE (a table that fits a page, whatever the units)."""
    out = []
    for q in scheme["requirements"]:
        counts: dict[str, list[str]] = {}
        for d in devices:
            counts.setdefault(q["verdicts"].get(d, "NOT_RUN"), []).append(d)
        cells = [{"verdict": v, "n": len(names),
                  "devices": names if v not in ("PASS", "DECLARED", "NOT_APPLICABLE") else []}
                 for v, names in sorted(counts.items(), key=lambda kv: rank(kv[0]))]
        out.append({**q, "cells": cells})
    return out


def device_requirements(run: dict, device: str) -> list[dict]:
    """Per scheme: the device's requirement ids grouped by verdict, weakest first."""
    out = []
    for s in ordered_schemes(run):
        groups: dict[str, list[str]] = {}
        for q in s["requirements"]:
            groups.setdefault(q["verdicts"].get(device, "NOT_RUN"), []).append(q["id"])
        out.append({"scheme": s["scheme"], "title": s["title"],
                    "groups": sorted(groups.items(), key=lambda kv: rank(kv[0]))})
    return out


def firmware_image(device: dict) -> dict | None:
    """Per test case the firmware image bore on: what the image showed, what the unit
    showed, the verdict, and where image and unit disagree. None without an image."""
    rows, image = [], None
    for r in device_results(device):
        seen = [e["observed"] for e in r["evidence"] if e.get("check") == "firmware image"]
        if not seen:
            continue
        img = seen[0]
        image = image or {k: img.get(k) for k in ("image", "sha256", "error", "notes")}
        found = img.get("findings") or []
        unit = r["reason"].split("; the unit itself: ", 1)
        rows.append({"test_id": r["test_id"], "verdict": r["verdict"],
                     "image": [f"{f['strength']}: {f['finding']}" for f in found]
                     or ([img["error"]] if img.get("error") else ["nothing"]),
                     "unit": unit[1] if len(unit) == 2 else
                     (f"{r['verdict']}" + (f" ({r['reason']})" if r["reason"] else "")),
                     "decided_by_image": len(unit) == 2,
                     "disagree": [x for e in r["evidence"]
                                  if e.get("check") == "image and unit disagree"
                                  for x in e["observed"]]})
    return {**image, "rows": rows} if image else None


def ts_rollup(run: dict, devices: list[str]) -> list[dict]:
    """ETSI TS 103 701: per test case, how each unit is assessed and the case's verdicts over
    the devices (counted, as the per-scheme tables). Runs made before the view existed: []."""
    scheme = ts103701.as_scheme(run)
    return scheme_rollup(scheme, devices) if scheme else []


def en18031_rollup(run: dict, devices: list[str]) -> list[dict]:
    """EN 18031-1 by requirement (mechanism, scope) with its verdicts over the devices,
    counted as the per-scheme tables. Runs made before the view existed: []."""
    view = run.get("en18031")
    return scheme_rollup(view, devices) if view else []


def en18031_device(run: dict, device: str) -> list[dict]:
    """The device's EN 18031-1 requirements other than PASS: per asset in scope its outcome
    and the path through the tree, each node with its answer and first piece of evidence."""
    out = []
    for q in (run.get("en18031") or {}).get("requirements", []):
        v, rows = q["verdicts"].get(device, "NOT_RUN"), q["devices"].get(device)
        if v == "PASS" or not rows:
            continue
        out.append({"id": q["id"], "title": q["title"], "verdict": v,
                    "none_in_scope": rows["none_in_scope"],
                    "assets": [{"asset": a["asset"], "outcome": a["outcome"],
                                "path": [f"{s['node']} {s['ask']} → {s['answer']}"
                                         + (f" ({s['evidence'][0]})" if s["evidence"] else "")
                                         for s in a["path"]]}
                               for a in rows["assets"]]})
    return out

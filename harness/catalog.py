"""Requirement catalogs (harness/catalogs/*.yaml, one per scheme) and the per-scheme views.

A scheme requirement's verdict on a device is derived from its test cases' verdicts, the
weakest first: any FAIL → FAIL; else ERROR; else INCONCLUSIVE; else any test case that did
not run (NOT_RUN, or absent from the run: deselected or never reached) → NOT_RUN; else every
test that applied PASSed → PASS (declarations beside passing probes do not weaken it), but a
requirement with a part no test case covers (`untested_parts`) → NOT_RUN; only declarations
→ DECLARED; nothing applied → NOT_APPLICABLE; no test case → UNCOVERED; a requirement whose
topic no source confirms → UNCONFIRMED (never PASS). Then the vendor's ICS (EN 303 645
provisions): not applicable, or a recommendation not supported → NOT_APPLICABLE unless a
test case showed a problem on the unit; a mandatory provision not supported → FAIL.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from harness import yamlsrc
from harness.model.verdict import PROBLEMS, WEAKEST_FIRST

CATALOG_DIR = Path(__file__).parent / "catalogs"


class Requirement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: str
    title_ja: str = Field("", description="JC-STAR: the topic in Japanese (our translation)")
    level: Literal["M", "R", "-"] = "-"
    provisional: bool = False
    evaluated_by: Literal["device", "documents", "both"] = "both"
    test_cases: list[str] = Field(default_factory=list)
    harmonised_with: list[str] = Field(default_factory=list)
    note: str = ""
    source: str = Field("", description="where the wording and the mapping come from")
    topic_confirmed: bool = Field(True, description="false: no source confirms what the "
                                  "requirement asks; it carries no test case")
    untested_parts: list[str] = Field(default_factory=list, description="parts of the "
                                      "requirement no test case covers yet")


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    scheme: str
    title: str
    source: str
    provisional_note: str = ""
    title_note: str = ""
    requirements: list[Requirement]


@lru_cache(maxsize=None)
def _load_dir(directory: str) -> tuple[Catalog, ...]:
    return tuple(yamlsrc.validated(Catalog, path)
                 for path in sorted(Path(directory).glob("*.yaml")))


def catalogs(directory: Path = CATALOG_DIR) -> tuple[Catalog, ...]:
    return _load_dir(str(directory))


def known_requirement_ids() -> set[str]:
    return {r.id for c in catalogs() for r in c.requirements}


@lru_cache(maxsize=None)
def requirements_of(test_id: str) -> tuple[str, ...]:
    """The requirements a test case evidences: every catalog requirement that lists it.
    The catalogs are the one source of the mapping; test cases do not repeat it."""
    return tuple(r.id for c in catalogs() for r in c.requirements if test_id in r.test_cases)


def declaration_requirements() -> list[str]:
    """Requirements evaluated by a declaration check of their own (`TC-DECL-<id>` in their
    test cases): testcases/test_declarations.py makes one per id."""
    return [r.id for c in catalogs() for r in c.requirements
            if f"TC-DECL-{r.id}" in r.test_cases]


def derive(verdicts: list[str], has_tests: bool, untested_parts=(),
           topic_confirmed: bool = True) -> str:
    if not topic_confirmed:
        return "UNCONFIRMED"
    if not has_tests:
        return "UNCOVERED"
    for v in WEAKEST_FIRST:
        if v in verdicts:
            return v
    applied = [v for v in verdicts if v != "NOT_APPLICABLE"]
    if not applied:
        return "NOT_APPLICABLE"
    if "PASS" in applied:
        return "NOT_RUN" if untested_parts else "PASS"
    return "DECLARED"


def ics_outcome(entry: dict | None, level: str) -> tuple[str, str] | None:
    """What the vendor's ICS entry for a provision decides (None: supported or not
    answered): not applicable → NOT_APPLICABLE; not supported → FAIL for a mandatory
    provision, NOT_APPLICABLE for a recommendation (a justified choice the standard allows)."""
    if not entry or entry["status"] == "supported":
        return None
    why = entry.get("justification", "")
    if entry["status"] == "not_applicable":
        return "NOT_APPLICABLE", f"ICS: not applicable: {why}"
    if level == "M":
        return "FAIL", f"ICS: a mandatory provision not supported: {why}"
    return "NOT_APPLICABLE", f"ICS: a recommendation not supported: {why}"


def _requirement_view(req: Requirement, devices: list[dict]) -> dict:
    verdicts, not_tested, by_ics = {}, {}, {}
    for d in devices:
        by_test = {r["test_id"]: r for r in d["results"]}
        vs, why = [], []
        for t in req.test_cases:
            r = by_test.get(t)
            if r is None:
                vs.append("NOT_RUN")
                why.append(f"{t}: not in this run (deselected or never reached)")
            else:
                vs.append(r["verdict"])
                if r["verdict"] == "NOT_RUN":
                    why.append(f"{t}: {r['reason']}")
        verdicts[d["name"]] = derive(vs, bool(req.test_cases), req.untested_parts,
                                     req.topic_confirmed)
        if req.topic_confirmed and req.test_cases:
            why += [f"untested part: {p}" for p in req.untested_parts]
        ics = ics_outcome((d.get("ics") or {}).get(req.id), req.level)
        # the vendor's ICS decides what applies, unless the unit itself showed a problem
        if ics and (ics[0] == "FAIL" or verdicts[d["name"]] not in PROBLEMS):
            verdicts[d["name"]], why, by_ics[d["name"]] = ics[0], [], ics[1]
        if why:
            not_tested[d["name"]] = why
    return {"id": req.id, "title": req.title, "title_ja": req.title_ja,
            "provisional": req.provisional,
            "topic_confirmed": req.topic_confirmed, "evaluated_by": req.evaluated_by,
            "source": req.source, "test_cases": req.test_cases,
            "untested_parts": req.untested_parts, "verdicts": verdicts,
            "not_tested": not_tested, "ics": by_ics}


def scheme_views(run: dict) -> list[dict]:
    return [{"scheme": cat.scheme, "title": cat.title, "provisional_note": cat.provisional_note,
             "title_note": cat.title_note,
             "requirements": [_requirement_view(req, run["devices"])
                              for req in cat.requirements]}
            for cat in catalogs()]


def not_fully_tested(views: list[dict]) -> dict[str, list[dict]]:
    """Per device: every requirement (of every scheme) that was not fully tested, and why."""
    out: dict[str, list[dict]] = {}
    for view in views:
        for req in view["requirements"]:
            for device, why in req["not_tested"].items():
                out.setdefault(device, []).append({"scheme": view["scheme"], "id": req["id"],
                                                   "verdict": req["verdicts"][device],
                                                   "why": why})
    return out


def coverage(specs: dict) -> list[dict]:
    """Per scheme: requirements verified on the device, by declaration only, uncovered, and
    those whose topic is unconfirmed; provisional ones counted apart as well.
    `specs` maps test-case id -> TestCaseSpec (a declaration check: evaluated documents)."""
    rows = []
    for cat in catalogs():
        probe = decl = unc = unconfirmed = provisional = provisional_probe = 0
        for req in cat.requirements:
            tests = [t for t in req.test_cases if t in specs]
            provisional += req.provisional
            if not req.topic_confirmed:
                unconfirmed += 1
            elif any(t in specs and specs[t].evaluated == "device" for t in tests):
                probe += 1
                provisional_probe += req.provisional
            elif tests:
                decl += 1
            else:
                unc += 1
        n = len(cat.requirements)
        rows.append({"scheme": cat.scheme, "title": cat.title, "requirements": n,
                     "probe_verified": probe, "declaration_only": decl, "uncovered": unc,
                     "topic_unconfirmed": unconfirmed, "provisional": provisional,
                     "probe_verified_provisional": provisional_probe,
                     "probe_verified_pct": round(100 * probe / n) if n else 0})
    return rows


def check_consistency(specs: dict) -> list[str]:
    """Problems between catalogs and test cases: a test case no catalog maps (it would
    evidence nothing), a catalog naming a test case that does not exist."""
    problems = []
    listed = {t for c in catalogs() for r in c.requirements for t in r.test_cases}
    known = known_requirement_ids()
    for tid, spec in specs.items():
        if not spec.requirements:
            problems.append(f"{tid}: no catalog maps it to a requirement")
        if spec.own_requirements and requirements_of(tid):
            problems.append(f"{tid}: mapped by a catalog and by its decorator (one place only)")
        problems += [f"{tid} names unknown requirement {r}" for r in spec.own_requirements
                     if r not in known]
    for t in sorted(listed - set(specs)):
        problems.append(f"catalogs list test case {t}, which does not exist")
    return problems


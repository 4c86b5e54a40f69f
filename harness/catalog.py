"""Requirement catalogs (harness/catalogs/*.yaml, one per scheme) and the per-scheme views.

A scheme requirement's verdict on a device is derived from its test cases' verdicts:
any FAIL → FAIL; else any ERROR → ERROR; else any INCONCLUSIVE → INCONCLUSIVE; else every
test that applied PASSed → PASS (declarations beside passing probes do not weaken it);
only declarations → DECLARED; nothing applied → NOT_APPLICABLE; no test case → UNCOVERED.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness import yamlsrc

CATALOG_DIR = Path(__file__).parent / "catalogs"


class Requirement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    title: str
    level: Literal["M", "R", "-"] = "-"
    provisional: bool = False
    evaluated_by: Literal["device", "documents", "both"] = "both"
    test_cases: list[str] = Field(default_factory=list)
    harmonised_with: list[str] = Field(default_factory=list)
    note: str = ""


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    scheme: str
    title: str
    source: str
    provisional_note: str = ""
    requirements: list[Requirement]


@lru_cache(maxsize=None)
def _load_dir(directory: str) -> tuple[Catalog, ...]:
    out = []
    for path in sorted(Path(directory).glob("*.yaml")):
        data, origins = yamlsrc.load(path)
        try:
            out.append(Catalog.model_validate(data))
        except ValidationError as exc:
            raise yamlsrc.pydantic_error(exc, origins, str(path)) from None
    return tuple(out)


def catalogs(directory: Path = CATALOG_DIR) -> tuple[Catalog, ...]:
    return _load_dir(str(directory))


def known_requirement_ids() -> set[str]:
    return {r.id for c in catalogs() for r in c.requirements}


def derive(verdicts: list[str], has_tests: bool) -> str:
    if not has_tests:
        return "UNCOVERED"
    for v in ("FAIL", "ERROR", "INCONCLUSIVE"):
        if v in verdicts:
            return v
    applied = [v for v in verdicts if v != "NOT_APPLICABLE"]
    if not applied:
        return "NOT_APPLICABLE"
    if "PASS" in applied:
        return "PASS"
    return "DECLARED"


def scheme_views(run: dict) -> list[dict]:
    views = []
    for cat in catalogs():
        reqs = []
        for req in cat.requirements:
            per_device = {}
            for d in run["devices"]:
                vs = [r["verdict"] for r in d["results"] if r["test_id"] in req.test_cases]
                per_device[d["name"]] = derive(vs, bool(req.test_cases))
            reqs.append({"id": req.id, "title": req.title, "provisional": req.provisional,
                         "test_cases": req.test_cases, "verdicts": per_device})
        views.append({"scheme": cat.scheme, "title": cat.title, "requirements": reqs})
    return views


def coverage(specs: dict) -> list[dict]:
    """Per scheme: requirements verified on the device, by declaration only, or uncovered.
    `specs` maps test-case id -> TestCaseSpec; a declaration check has an id TC-DECL-*."""
    rows = []
    for cat in catalogs():
        probe = decl = unc = 0
        for req in cat.requirements:
            tests = [t for t in req.test_cases if t in specs]
            if any(not t.startswith("TC-DECL-") for t in tests):
                probe += 1
            elif tests:
                decl += 1
            else:
                unc += 1
        n = len(cat.requirements)
        rows.append({"scheme": cat.scheme, "title": cat.title, "requirements": n,
                     "probe_verified": probe, "declaration_only": decl, "uncovered": unc,
                     "probe_verified_pct": round(100 * probe / n) if n else 0})
    return rows


def check_consistency(specs: dict) -> list[str]:
    """Problems between catalogs and test cases (unknown ids in either direction)."""
    problems = []
    known = known_requirement_ids()
    listed = {t for c in catalogs() for r in c.requirements for t in r.test_cases}
    for tid, spec in specs.items():
        for rid in spec.requirements:
            if rid not in known:
                problems.append(f"{tid} names unknown requirement {rid}")
            else:
                req = next(r for c in catalogs() for r in c.requirements if r.id == rid)
                if tid not in req.test_cases:
                    problems.append(f"{tid} evidences {rid} but the catalog does not list it")
    for t in sorted(listed - set(specs)):
        problems.append(f"catalogs list test case {t}, which does not exist")
    return problems


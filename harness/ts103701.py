"""ETSI TS 103 701, the conformance assessment of ETSI EN 303 645: its test groups (one per
provision), test cases and lettered test units, how each unit is assessed here
(harness/catalogs/ts-103-701-v1.1.1.yml), the unit counts `harness coverage` prints, and a
run's view: each unit's outcome on each device, each test case's verdict the weakest of its
units'.

A unit's outcome on a device: `device` units from our test cases' verdicts (the catalog's
derivation rule); conceptual units the lab judges (`lab: review`) are DECLARED where the
vendor's declaration for the provision is on file and NOT_RUN ("IXIT answer owed") where it
is not; the lab's own steps (ui, document, physical, radio) NOT_RUN with the step named;
units no test decides yet UNCOVERED; every unit of a provision the run's EN 303 645 view
finds not applicable (its test cases, declarations, the vendor's ICS) NOT_APPLICABLE.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness import yamlsrc
from harness.catalog import CATALOG_DIR, catalogs, derive, scheme_views
from harness.model.verdict import from_documents, weakest

DATA = CATALOG_DIR / "ts-103-701-v1.1.1.yml"
LAB_STEPS = {"ui": "operate the product's user interface",
             "document": "read the published document",
             "physical": "open or handle the hardware",
             "radio": "test the radio interfaces on a radio bench",
             "review": "judge the vendor's IXIT answer"}
Kind = Literal["conceptual", "functional"]


class Unit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    device: list[str] = Field(default_factory=list, description="our test cases that decide it")
    ixit: str = Field("", description="the test case that judges the vendor's IXIT answer")
    lab: Literal["ui", "document", "physical", "radio", "review", ""] = ""
    none: str = Field("", description="what a network or console test would do; none built")
    kind: Kind | None = Field(None, description="only in a case that is both")

    @model_validator(mode="after")
    def _one_way(self):
        ways = [bool(self.device), bool(self.ixit), bool(self.lab), bool(self.none)]
        if sum(ways) != 1:
            raise ValueError("a unit is assessed one way: device, ixit, lab or none")
        return self

    @property
    def assessed(self) -> str:
        return ("device" if self.device else "ixit" if self.ixit else
                "lab" if self.lab else "none")


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    kind: Literal["conceptual", "functional", "both"]
    units: dict[str, Unit]

    def unit_kind(self, letter: str) -> str:
        return self.units[letter].kind or self.kind


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    provision: str
    ixit_tables: list[str]
    cases: list[Case]


class Standard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    standard: str
    version: str
    published: str
    assesses: str
    catalog: str
    source: str
    groups: list[Group]

    @property
    def name(self) -> str:
        return f"{self.standard} {self.version}"

    def units(self):
        """(group, case, letter, unit) for every test unit, in the TS's order."""
        for g in self.groups:
            for c in g.cases:
                for letter, u in c.units.items():
                    yield g, c, letter, u


@lru_cache(maxsize=None)
def load(path: str = str(DATA)) -> Standard:
    return yamlsrc.validated(Standard, path)


def _provision_titles(std: Standard) -> dict[str, str]:
    cat = next(c for c in catalogs() if c.scheme == std.catalog)
    titles = {r.id.split("-", 1)[1]: r.title for r in cat.requirements}
    titles.setdefault("4-1", "The vendor reports how the product implements the provisions")
    return titles


def coverage(std: Standard | None = None) -> dict:
    """Unit counts per kind and way of assessment; the share of the functional units a
    network or console test can decide (device + none) that our test cases decide."""
    std = std or load()
    counts: dict[str, dict[str, int]] = {"conceptual": {}, "functional": {}}
    lab: dict[str, int] = {}
    uncovered = []
    for _, c, letter, u in std.units():
        kind = c.unit_kind(letter)
        counts[kind][u.assessed] = counts[kind].get(u.assessed, 0) + 1
        if u.lab:
            lab[u.lab] = lab.get(u.lab, 0) + 1
        if u.none:
            uncovered.append({"unit": c.id + letter, "would": u.none})
    f = counts["functional"]
    decidable = f.get("device", 0) + f.get("none", 0)
    return {"standard": std.name, "assesses": std.assesses, "groups": len(std.groups),
            "cases": sum(len(g.cases) for g in std.groups),
            "units": {k: sum(v.values()) for k, v in counts.items()}, "by_kind": counts,
            "lab_steps": lab, "uncovered": uncovered,
            "functional_decidable": decidable,
            "functional_automated_pct": round(100 * f.get("device", 0) / decidable, 1)
            if decidable else 0.0}


def _unit_outcome(u: Unit, kind: str, provision: dict, by_test: dict) -> tuple[str, str]:
    if provision["verdict"] == "NOT_APPLICABLE":
        return "NOT_APPLICABLE", provision["why"] or "the provision does not apply"
    if provision.get("ics_fail"):                 # the vendor's own ICS says so
        return "FAIL", provision["why"]
    if u.device:
        vs = [by_test[t]["verdict"] if t in by_test else "NOT_RUN" for t in u.device]
        return derive(vs, True), ", ".join(u.device)
    if u.ixit:
        v = by_test[u.ixit]["verdict"] if u.ixit in by_test else "NOT_RUN"
        if v == "DECLARED":       # a conceptual unit judges the design: that is its pass
            return "PASS", f"{u.ixit}: the IXIT answers meet the criterion"
        return v, f"{u.ixit}: " + (by_test[u.ixit].get("reason", "") if u.ixit in by_test
                                   else "not in this run")
    if u.none:
        return "UNCOVERED", f"no test yet: {u.none}"
    if u.lab == "review" and kind == "conceptual":
        if provision["declared"]:
            return "DECLARED", "the vendor's declaration is on file; the lab judges it"
        return "NOT_RUN", "IXIT answer owed"
    return "NOT_RUN", f"lab step: {LAB_STEPS[u.lab or 'review']}"


def _provisions(scheme: dict, device: dict) -> dict[str, dict]:
    """Per provision on this device, as the run's EN 303 645 view decided it (one source:
    its test cases, declarations and the vendor's ICS): its verdict and why where it is not
    applicable or the ICS fails it; `declared` where a declaration check evidencing it
    found the vendor's declaration on file."""
    name, by_test = device["name"], {r["test_id"]: r for r in device["results"]}
    declared = {q for r in device["results"] if from_documents(r) and r["verdict"] == "DECLARED"
                for q in r["requirements"]}
    out = {}
    for q in scheme["requirements"]:
        v, ics = q["verdicts"].get(name, "NOT_RUN"), q.get("ics", {}).get(name, "")
        why = ics or (next((by_test[t].get("reason", "") for t in q["test_cases"]
                            if t in by_test), "") if v == "NOT_APPLICABLE" else "")
        out[q["id"].split("-", 1)[1]] = {"verdict": v, "why": why, "declared": q["id"] in declared,
                                         "ics_fail": bool(ics) and v == "FAIL"}
    return out


def view(run: dict, std: Standard | None = None) -> dict:
    """The run's TS 103 701 view: per test case its units, each unit's outcome per device,
    the case's verdict per device (the weakest of its units')."""
    std = std or load()
    titles = _provision_titles(std)
    none = {"verdict": "", "why": "", "declared": False}
    scheme = next(s for s in run.get("schemes") or scheme_views(run)
                  if s["scheme"] == std.catalog)
    per_device = {d["name"]: ({r["test_id"]: r for r in d["results"]},
                              _provisions(scheme, d)) for d in run["devices"]}
    cases = []
    for g in std.groups:
        for c in g.cases:
            units, verdicts = [], {}
            for letter, u in c.units.items():
                kind = c.unit_kind(letter)
                outcomes = {}
                for name, (by_test, provs) in per_device.items():
                    outcomes[name] = _unit_outcome(u, kind, provs.get(g.provision, none), by_test)
                units.append({"id": c.id + letter, "kind": kind, "assessed": u.assessed,
                              "test_cases": u.device, "ixit": u.ixit, "lab": u.lab,
                              "none": u.none,
                              "outcomes": {n: {"verdict": v, "why": w}
                                           for n, (v, w) in outcomes.items()}})
            for name in per_device:
                verdicts[name] = weakest([x["outcomes"][name]["verdict"] for x in units])
            cases.append({"id": c.id, "kind": c.kind, "provision": g.provision,
                          "ixit_tables": g.ixit_tables, "title": titles.get(g.provision, ""),
                          "units": units, "verdicts": verdicts})
    return {"standard": std.standard, "version": std.version, "assesses": std.assesses,
            "cases": cases}


def as_scheme(run: dict) -> dict | None:
    """The run's TS 103 701 view in the shape of a scheme view (a requirement per test case,
    `how` each unit is assessed, `not_tested` naming each unit not passed and why), for the
    views that list schemes."""
    view = run.get("ts103701")
    if not view:
        return None
    reqs = []
    for c in view["cases"]:
        not_tested = {}
        for name in c["verdicts"]:
            why = [f"{u['id']}: {u['outcomes'][name]['verdict']} ({u['outcomes'][name]['why']})"
                   for u in c["units"] if u["outcomes"][name]["verdict"] != "PASS"]
            if why and c["verdicts"][name] != "NOT_APPLICABLE":
                not_tested[name] = why
        how = [f"{u['id'][-1]}: " + (", ".join(u["test_cases"]) if u["test_cases"] else
                                     f"lab ({u['lab']})" if u["lab"] else
                                     "IXIT" if u["assessed"] == "ixit" else "no test yet")
               for u in c["units"]]
        reqs.append({"id": f"TS103701-{c['id']}", "case": c["id"], "how": how,
                     "title": f"({c['kind']}) {c['title']}",
                     "provisional": False, "verdicts": c["verdicts"], "not_tested": not_tested,
                     "test_cases": sorted({t for u in c["units"] for t in u["test_cases"]}
                                          | {u["ixit"] for u in c["units"] if u.get("ixit")})})
    return {"scheme": "etsi-ts-103-701", "title": f"{view['standard']} {view['version']}",
            "requirements": reqs}

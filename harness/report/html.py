"""report.html: a person's view of run.json."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import jinja2

from harness.report import views
from harness.report.checklist import EVALUATED_BY

TEMPLATES = Path(__file__).parent / "templates"


def _compiled_cache() -> jinja2.BytecodeCache | None:
    """The templates compiled once and kept beside them, as Python keeps its bytecode
    (compiling them costs 0.4 CPU-s a run); none where bytecode is not written or the
    directory is read-only (an installed package)."""
    import os
    import sys
    d = TEMPLATES / "__pycache__"
    if sys.dont_write_bytecode:
        return None
    try:
        d.mkdir(exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(d)) if os.access(d, os.W_OK) else None


def vulnerabilities(device: dict) -> dict | None:
    """TC-VULN-01's evidence as tables: the matches and the identified components."""
    r = next((r for r in device["results"] if r["test_id"] == "TC-VULN-01"), None)
    if r is None:
        return None
    ev = {e["check"]: e.get("observed") for e in r.get("evidence", [])}
    inv = next((a for a in r.get("artifacts", []) if a.endswith("inventory.json")), "")
    return {"verdict": r["verdict"], "reason": r["reason"],
            "feeds": (ev.get("vulnerability database") or {}).get("feeds", []),
            "matches": ev.get("known vulnerabilities (findings)") or [],
            "components": ev.get("inventory") or [],
            "sources": ev.get("inventory sources") or {}, "inventory_file": inv}


TIMELINE = "timeline (s since the first command)"


def timeline(result: dict) -> dict | None:
    """A remote-operation test's timeline, with each event's position on a common scale
    (percent of the last event's time) for the bar a reader scans."""
    events = next((e.get("observed") for e in result.get("evidence", [])
                   if e.get("check") == TIMELINE), None)
    if not events:
        return None
    end = max((e["t"] for e in events), default=0) or 1
    return {"end": end, "events": [{**e, "pct": round(100 * e["t"] / end, 1)} for e in events]}


@functools.cache
def _env() -> jinja2.Environment:
    """Made when a report is first rendered, not at import (the cache directory is made
    then, once)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, bytecode_cache=_compiled_cache())
    env.filters["pretty"] = lambda v: json.dumps(v, indent=1, ensure_ascii=False)
    env.globals.update(vulnerabilities=vulnerabilities, views=views, timeline=timeline)
    return env


def render(run: dict, approval: dict | None = None, issued: str = "") -> str:
    """The report; `approval` (harness.report.approval.status): without a valid one the
    report says DRAFT at its top and on every printed page."""
    approval = approval or {"approved": False, "why": "not approved"}
    return _env().get_template("report.html.j2").render(run=run, approval=approval,
                                                      issued=issued)


def render_checklist(checklist: dict) -> str:
    return _env().get_template("checklist.html.j2").render(c=checklist,
                                                         evaluated_by=EVALUATED_BY)

"""The test suite as data: import testcases/*.py and read each test case's spec.

Used by `harness list` and `harness coverage`, which must not touch a device.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from harness.model import spec_of

SUITE_DIR = Path(__file__).resolve().parents[1] / "testcases"


def load_specs(directory: Path = SUITE_DIR) -> dict:
    specs = {}
    for path in sorted(directory.glob("test_*.py")):
        name = f"_harness_suite_{path.stem}"
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        for attr in vars(module).values():
            s = spec_of(attr)
            if s is not None and getattr(attr, "__name__", "").startswith("test_"):
                if s.id in specs and specs[s.id] is not s:
                    raise ValueError(f"test case id {s.id} is used twice ({path})")
                specs[s.id] = s
    return specs


def plan(profile, specs: dict, allow_destructive: bool) -> list[dict]:
    """Which test cases apply to a profile, which don't, and why."""
    rows = []
    for tid, s in sorted(specs.items()):
        why = s.not_applicable_reason(profile)
        if not why and s.destructive and not allow_destructive:
            why = "destructive: needs --allow-destructive"
        rows.append({"test_id": tid, "title": s.title, "requirements": list(s.requirements),
                     "runs": why is None, "why_not": why or ""})
    return rows

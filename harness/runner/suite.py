"""The test suite as data: import testcases/*.py and read each test case's spec.

Used by `harness list` and `harness coverage`, which must not touch a device.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from harness.errors import Missing
from harness.model import spec_of

def _suite_dir() -> Path:
    """The checkout's testcases/, else the copy installed with the package."""
    checkout = Path(__file__).resolve().parents[2] / "testcases"
    return checkout if checkout.is_dir() else Path(__file__).resolve().parents[1] / "testcases"


SUITE_DIR = _suite_dir()


def load_specs(directory: Path = SUITE_DIR) -> dict:
    return {s.id: s for s in _by_function(directory).values()}


def test_ids_by_function(directory: Path = SUITE_DIR) -> dict[str, str]:
    """Test function name -> test-case id (to name a pytest node id in progress lines)."""
    return {name: s.id for name, s in _by_function(directory).items()}


def _by_function(directory: Path) -> dict:
    specs, names = {}, {}
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
                names[attr.__name__] = s
    return names


def plan(profile, specs: dict, allow_destructive: bool) -> list[dict]:
    """Which test cases apply to a profile, which don't, and why."""
    rows = []
    for tid, s in sorted(specs.items()):
        why = s.not_applicable_reason(profile)
        outcome = "NOT_RUN" if isinstance(why, Missing) else "NOT_APPLICABLE"
        if not why and s.destructive and not allow_destructive:
            why, outcome = "destructive: needs --allow-destructive", "NOT_RUN"
        rows.append({"test_id": tid, "title": s.title, "requirements": list(s.requirements),
                     "runs": why is None, "why_not": str(why or ""),
                     "verdict_if_not_run": outcome if why else ""})
    return rows

"""Evidence: what was expected, what was observed, and the artifacts behind it."""
from __future__ import annotations

import hashlib
from typing import Any


PER_SURFACE = "outcome per login surface"     # the check that carries them (per_surface)
UNIT = "*"          # per_surface: found on no login of the profile, so the unit's (every login's)


class Failed(AssertionError):
    """A test case's expectation was not met: verdict FAIL with this reason."""


def _plain(value: Any) -> Any:
    """Evidence must serialise to JSON; turn dataclasses, sets and bytes into plain values."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class Evidence:
    """Collects checks and artifacts for one test case on one device."""

    def __init__(self, artifact_dir=None, base=None):
        self.items: list[dict[str, Any]] = []
        self.artifacts: list[str] = []      # paths relative to `base` (the run directory)
        self.artifact_sha256: dict[str, str] = {}
        self._base = base
        self.steps: list[str] = []
        self.declared_reason: str | None = None
        self.observation: dict | None = None
        self._artifact_dir = artifact_dir

    def step(self, text: str) -> None:
        self.steps.append(text)

    def record(self, what: str, observed: Any) -> None:
        """A plain observation with no expectation attached."""
        self.items.append({"check": what, "observed": _plain(observed)})

    def expect(self, what: str, ok: bool, expected: Any, observed: Any, reason: str = "") -> bool:
        """Record one expected-vs-observed check; raise Failed if it does not hold."""
        self.items.append({"check": what, "expected": _plain(expected),
                           "observed": _plain(observed), "ok": bool(ok)})
        if not ok:
            raise Failed(reason or f"{what}: expected {expected}, observed {_plain(observed)}")
        return True

    def per_surface(self, outcomes: dict[str, tuple[str, str]]) -> None:
        """What the test case found on each login surface it judged — surface name ->
        (verdict, why) — so that a verdict per login is read from the evidence (EN 18031-1's
        assets: harness.en18031), not from the wording of the reason."""
        self.items.append({"check": PER_SURFACE, "observed": {
            name: {"verdict": v, "why": why} for name, (v, why) in outcomes.items()}})

    def observe(self, data: dict) -> None:
        """This unit's share of a cross-unit check (e.g. its key fingerprints): the verdict
        is decided once every unit of the run has been seen (the test case's `decide`)."""
        self.observation = _plain(data)

    def declared(self, reason: str) -> None:
        """Mark the result DECLARED: evaluated from the vendor's documents, not the device."""
        self.declared_reason = reason

    def attach(self, name: str, content: str | bytes) -> str:
        """Save an artifact (e.g. nmap XML) under the run's artifact directory."""
        if self._artifact_dir is None:
            raise RuntimeError("no artifact directory for this evidence")
        self._artifact_dir.mkdir(parents=True, exist_ok=True)
        path = self._artifact_dir / name
        data = content if isinstance(content, bytes) else content.encode()
        from harness import safefile
        safefile.replace(path, data)
        shown = str(path.relative_to(self._base)) if self._base else str(path)
        self.artifacts.append(shown)
        self.artifact_sha256[shown] = hashlib.sha256(data).hexdigest()
        return str(path)

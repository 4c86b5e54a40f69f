"""Verdicts and per-test results."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field, asdict
from typing import Any


class Verdict(str, enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    ERROR = "ERROR"
    # Document-evaluated requirements: the vendor's declaration is present and complete.
    # Shown apart from verified results and never counted as PASS.
    DECLARED = "DECLARED"
    # Not tested: destructive and not allowed, deselected, or the profile lacks what the
    # test needs. The requirement still applies; a PASS cannot rest on it.
    NOT_RUN = "NOT_RUN"

    @property
    def is_problem(self) -> bool:
        """Verdicts that make `harness run` exit 1."""
        return self in (Verdict.FAIL, Verdict.ERROR, Verdict.INCONCLUSIVE)


@dataclass
class Result:
    test_id: str
    device: str
    requirements: list[str]
    verdict: Verdict
    reason: str = ""
    title: str = ""
    steps: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)     # relative to the run directory
    artifact_sha256: dict[str, str] = field(default_factory=dict)
    destructive: bool = False
    started: str = ""
    duration_s: float = 0.0

    def __post_init__(self):
        if self.verdict is not Verdict.PASS and not self.reason:
            raise ValueError(f"{self.test_id}: a {self.verdict.value} verdict needs a reason")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict.value
        return d

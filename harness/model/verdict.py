"""Verdicts and per-test results."""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field, asdict
from typing import Any


def now() -> str:
    """The time stamp of journal events and results (UTC, seconds)."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


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
        return self.value in PROBLEMS


# The one order of verdicts, most serious first: every view sorts by it, the per-requirement
# rule takes the first of WEAKEST_FIRST it meets, the progress lines and the diff read it.
ORDER = ("FAIL", "ERROR", "INCONCLUSIVE", "NOT_RUN", "UNCONFIRMED", "UNCOVERED", "DECLARED",
         "PASS", "NOT_APPLICABLE", "OBSERVED")   # OBSERVED: a cross-unit share, decided later
PROBLEMS = ("FAIL", "ERROR", "INCONCLUSIVE")     # what makes a run exit 1
WEAKEST_FIRST = ("FAIL", "ERROR", "INCONCLUSIVE", "NOT_RUN")
GOOD = ("PASS", "DECLARED", "NOT_APPLICABLE")     # nothing left to do for the lab


def rank(verdict: str) -> int:
    """Position in ORDER (unknown values last)."""
    return ORDER.index(verdict) if verdict in ORDER else len(ORDER)


def weakest(verdicts: list[str]) -> str:
    """A whole's verdict from its parts': the weakest (a DECLARED, UNCOVERED or NOT_RUN part
    keeps it from PASS), NOT_APPLICABLE only when every part is."""
    applied = [v for v in verdicts if v != "NOT_APPLICABLE"]
    return min(applied, key=rank) if applied else "NOT_APPLICABLE"


LEGACY_DOCUMENT_PREFIX = "TC-DECL-"     # results journaled before `evaluated` existed


def from_documents(result: dict) -> bool:
    """A declaration check: evaluated from the vendor's documents, not on the device (the
    result's `evaluated` field; a result from before the field, by its id)."""
    evaluated = result.get("evaluated")
    if evaluated is None:
        return result["test_id"].startswith(LEGACY_DOCUMENT_PREFIX)
    return evaluated == "documents"


def badness(verdict: str) -> int:
    """For a regression: 0 good, 1 not decided, 2 could not decide, 3 failed."""
    if verdict in GOOD:
        return 0
    return {"FAIL": 3, "ERROR": 2, "INCONCLUSIVE": 2}.get(verdict, 1)


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
    evaluated: str = "device"         # or "documents": a declaration check
    started: str = ""
    duration_s: float = 0.0

    def __post_init__(self):
        if self.verdict is not Verdict.PASS and not self.reason:
            raise ValueError(f"{self.test_id}: a {self.verdict.value} verdict needs a reason")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict.value
        return d

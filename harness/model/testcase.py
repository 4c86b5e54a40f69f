"""Test-case metadata as data: id, requirements, steps, applicability, destructiveness.

A test case is a plain function decorated with @testcase(...). The runner reads the
spec to list the plan without touching a device and to validate requirement ids.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

Applicability = Callable[["object"], "str | None"]

# What a state-changing test case does to the device, in the order they run on a device:
# every test case that leaves the device as it was runs first (in file order), then these,
# least lasting first, the factory reset last. The order is declared here, not implied by
# file names.
DISRUPTS = ("", "redirect", "power", "link", "lockout", "credentials", "firmware",
            "factory_reset")


@dataclass(frozen=True)
class TestCaseSpec:
    id: str
    title: str
    steps: tuple[str, ...] = ()
    applies: tuple[Applicability, ...] = field(default=(), compare=False)
    destructive: bool = False
    disrupts: str = ""              # one of DISRUPTS: what state the test case changes
    # cross-unit test cases: decide(device, observation, peers) -> (verdict, reason, evidence)
    # runs once at the end of the run over the observations of every unit
    decide: Callable | None = field(default=None, compare=False)
    # only for a lab's own test case that no catalog lists; a catalog's test case never
    # repeats its mapping here (harness.catalog.check_consistency refuses that)
    own_requirements: tuple[str, ...] = ()
    # "device": it probes the device; "documents": a declaration check (the vendor's
    # documents, never the device): DECLARED, not PASS, and shown apart everywhere
    evaluated: str = "device"

    @property
    def requirements(self) -> tuple[str, ...]:
        """What it evidences, from the catalogs (the one source of the mapping)."""
        from harness.catalog import requirements_of
        return requirements_of(self.id) or self.own_requirements

    def result(self, device: str, verdict, reason: str = "", **more):
        """The one way a test case's Result is made: its id, title, steps, mapping and
        kind come from here, what happened from the caller."""
        from harness.model.verdict import Result
        steps = list(self.steps) + list(more.pop("steps", ()))
        return Result(test_id=self.id, device=device, requirements=list(self.requirements),
                      verdict=verdict, reason=reason, title=self.title, steps=steps,
                      destructive=self.destructive, evaluated=self.evaluated, **more)

    def not_applicable_reason(self, profile) -> str | None:
        """None when the test applies to this profile, else why not."""
        for check in self.applies:
            why = check(profile)
            if why:
                return why
        return None


def testcase(id: str, title: str, steps=(), applies=(), destructive=False,
             decide=None, disrupts="", requirements=(), evaluated="device"):
    """Attach a TestCaseSpec to a test function. The requirements it evidences come from the
    catalogs (harness/catalogs/*.yaml list each requirement's test cases); `requirements`
    only for a lab's own test case that no catalog lists."""
    if evaluated not in ("device", "documents"):
        raise ValueError(f"test case {id}: evaluated must be 'device' or 'documents'")
    if disrupts not in DISRUPTS:
        raise ValueError(f"test case {id}: disrupts must be one of {DISRUPTS}")

    def wrap(fn):
        fn.__harness__ = TestCaseSpec(id=id, title=title,
                                      steps=tuple(steps), applies=tuple(applies),
                                      destructive=destructive, decide=decide,
                                      disrupts=disrupts, own_requirements=tuple(requirements),
                                      evaluated=evaluated)
        return fn
    return wrap


def spec_of(obj) -> TestCaseSpec | None:
    return getattr(obj, "__harness__", None)


testcase.__test__ = False      # pytest must not collect the decorator itself


def run_order(spec: TestCaseSpec | None) -> int:
    """Sort key: test cases that change nothing first, then by what they disrupt."""
    return DISRUPTS.index(spec.disrupts) if spec is not None else 0

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
    requirements: tuple[str, ...]
    steps: tuple[str, ...] = ()
    applies: tuple[Applicability, ...] = field(default=(), compare=False)
    destructive: bool = False
    disrupts: str = ""              # one of DISRUPTS: what state the test case changes
    # cross-unit test cases: decide(device, observation, peers) -> (verdict, reason, evidence)
    # runs once at the end of the run over the observations of every unit
    decide: Callable | None = field(default=None, compare=False)

    def not_applicable_reason(self, profile) -> str | None:
        """None when the test applies to this profile, else why not."""
        for check in self.applies:
            why = check(profile)
            if why:
                return why
        return None


def testcase(id: str, title: str, requirements, steps=(), applies=(), destructive=False,
             decide=None, disrupts=""):
    """Attach a TestCaseSpec to a test function."""
    if not requirements:
        raise ValueError(f"test case {id} must evidence at least one requirement")
    if disrupts not in DISRUPTS:
        raise ValueError(f"test case {id}: disrupts must be one of {DISRUPTS}")

    def wrap(fn):
        fn.__harness__ = TestCaseSpec(id=id, title=title, requirements=tuple(requirements),
                                      steps=tuple(steps), applies=tuple(applies),
                                      destructive=destructive, decide=decide,
                                      disrupts=disrupts)
        return fn
    return wrap


def spec_of(obj) -> TestCaseSpec | None:
    return getattr(obj, "__harness__", None)


testcase.__test__ = False      # pytest must not collect the decorator itself


def run_order(spec: TestCaseSpec | None) -> int:
    """Sort key: test cases that change nothing first, then by what they disrupt."""
    return DISRUPTS.index(spec.disrupts) if spec is not None else 0

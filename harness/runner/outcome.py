"""How a test case ended, as a verdict: the plugin's one mapping from outcome to verdict."""
from __future__ import annotations

import pytest

from harness.errors import (DeviceError, Inconclusive, NotApplicable, ScopeError, UnitBusy,
                            WatchdogExpired)
from harness.model import Failed, Verdict


def verdict_of(excinfo, device, skipped=None) -> tuple[Verdict, str]:
    """A test case's verdict and reason from how its body ended: `skipped` (the harness's
    own skip: not applicable, not run), none (PASS), or the exception it raised. A device
    error on a unit that no longer answers marks it broken; one another run holds is not
    even probed."""
    if skipped is not None:
        return skipped
    if excinfo is None:
        return Verdict.PASS, ""
    exc = excinfo.value
    if isinstance(exc, pytest.skip.Exception):
        return Verdict.NOT_RUN, f"not run: skipped: {getattr(exc, 'msg', None) or exc}"
    if isinstance(exc, NotApplicable):
        return Verdict.NOT_APPLICABLE, str(exc)
    if isinstance(exc, (Failed, AssertionError)):
        return Verdict.FAIL, str(exc).split("\nassert ")[0] or "assertion failed"
    if isinstance(exc, Inconclusive):
        return Verdict.INCONCLUSIVE, str(exc)
    if isinstance(exc, WatchdogExpired):
        return Verdict.ERROR, str(exc)
    if isinstance(exc, ScopeError):
        return Verdict.ERROR, f"refused by scope: {exc}"
    if isinstance(exc, UnitBusy):                  # another run's: not even a liveness probe
        return Verdict.ERROR, str(exc)
    if isinstance(exc, DeviceError):
        if not device.health.broken and not device.check_alive():
            device.mark_broken(str(exc))
        return Verdict.ERROR, str(exc)
    return Verdict.ERROR, f"internal error in test case: {type(exc).__name__}: {exc}"

"""Exceptions shared across the harness.

InputError is for bad input (exit code 2): it always names the file, line and field.
The others classify what went wrong while talking to a device, so the runner can map
them to verdicts: a device problem is never a PASS and never a FAIL.
"""
from __future__ import annotations


class InputError(Exception):
    """Malformed profile, lab config, credential list or argument."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.message, self.file, self.line, self.field = message, file, line, field
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file or "<input>"
        if self.line:
            where += f":{self.line}"
        field = f" field '{self.field}':" if self.field else ""
        return f"{where}:{field} {self.message}"


class ScopeError(Exception):
    """A target outside the lab's scope allowlist. Raised before any packet is sent."""


class DeviceError(Exception):
    """The device misbehaved: refused, timed out, sent garbage. Maps to ERROR."""


class ConnectionClosed(DeviceError):
    """The device closed the connection."""


class TransportTimeout(DeviceError):
    """An operation exceeded its hard timeout."""


class WatchdogExpired(BaseException):
    """A test case ran past the lab's budget for one test case and was stopped. Not an
    Exception: a probe that reads a timeout as "lockout" or "no answer" must not swallow
    it and go on to a verdict."""


class Throttled(DeviceError):
    """The device said "slow down" (HTTP 429/503, a refused or unanswered connection while
    it still answers elsewhere): back off and try again, within a bounded time."""


class DeviceUnreachable(DeviceError):
    """Nothing on the device answers any more; later tests on it become ERROR."""


class UnitBusy(DeviceError):
    """Another run tests the unit (harness.runner.claims): nothing may be sent to it."""


class Inconclusive(Exception):
    """The evidence gathered cannot decide the verdict either way."""


class NotApplicable(Exception):
    """A fact says the test case does not apply to this device (with the reason)."""


class NotRun(Exception):
    """The test case applies but was not run: destructive and not allowed, or the profile
    lacks what it needs (the reason names the missing field). Never a PASS."""


class Missing(str):
    """An applicability reason meaning 'the lab lacks what the test needs' (NOT_RUN), as
    opposed to a plain string, 'a fact says it does not apply' (NOT_APPLICABLE)."""

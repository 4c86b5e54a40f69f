"""Brute-force resistance: a bounded burst of wrong passwords on one login surface,
timing each refusal; then, after the lockout window, the lab's valid login must work."""
from __future__ import annotations

import secrets
import time

from harness.errors import DeviceError, Throttled, TransportTimeout


def burst(attempt, attempts: int, per_try_timeout: float) -> list[dict]:
    """`attempt(password)` returns True/False or raises; returns the timing curve."""
    curve = []
    for i in range(attempts):
        t0 = time.monotonic()
        try:
            ok = attempt("hx-wrong-" + secrets.token_hex(6))
            outcome = "accepted" if ok else "refused"
        except TransportTimeout:
            outcome = "no answer"
        except Throttled:
            outcome = "told to slow down"
        except DeviceError as exc:
            said = str(exc).lower()
            outcome = "no answer" if "timed out" in said else \
                "connection refused" if "refused" in said or "reset" in said else "error"
        curve.append({"try": i + 1, "outcome": outcome,
                      "seconds": round(time.monotonic() - t0, 3)})
        if outcome == "accepted":
            break
        if [c["outcome"] for c in curve[-2:]] == ["no answer"] * 2:
            break                     # locked out: two silent tries are evidence enough
    return curve


BLOCKED = ("no answer", "connection refused", "told to slow down")
DELAY = 1.0          # seconds: a refusal that always takes this long is a login delay


def throttled(curve: list[dict], base: float, silent: bool = False) -> dict:
    """Signs of throttling: later tries blocked, told to slow down, markedly slower, or
    every refusal held back by a login delay. `silent`: the surface refuses with silence
    (SNMP v1/v2c), so neither silence nor its time says anything — only the valid login
    refused right after the burst (recovers) can show a lockout."""
    refusals = [c["seconds"] for c in curve if c["outcome"] == "refused"]
    if silent:
        return {"blocked_tries": 0, "slowed": False, "delayed": False, "throttled": False,
                "note": "refusals are silent here: only a lockout of the valid login counts"}
    blocked = [c for c in curve if c["outcome"] in BLOCKED]
    first = [c["seconds"] for c in curve[:3] if c["outcome"] == "refused"]
    later = [c["seconds"] for c in curve[3:] if c["outcome"] == "refused"]
    slowed = bool(first and later and max(later) > max(base, max(first)) * 3 + 1.0)
    delayed = len(refusals) == len(curve) and bool(refusals) and min(refusals) >= DELAY
    return {"blocked_tries": len(blocked), "slowed": slowed, "delayed": delayed,
            "throttled": bool(blocked) or slowed or delayed}


def recovers(valid_attempt, window: float, step: float = 5.0) -> tuple[bool, float, bool]:
    """Bounded wait for the valid login to work again after the lockout window.
    Returns (works again, seconds waited, locked out): the first try comes right after the
    burst, and if it fails the burst locked the account or source out — throttling
    evidence of its own."""
    t0, tries = time.monotonic(), 0
    while time.monotonic() - t0 < window:
        tries += 1
        try:
            if valid_attempt():
                return True, round(time.monotonic() - t0, 1), tries > 1
        except DeviceError:
            pass
        time.sleep(step)
    return False, round(time.monotonic() - t0, 1), True

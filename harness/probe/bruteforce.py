"""Brute-force resistance: a bounded burst of wrong passwords on one login surface,
timing each refusal; then, after the lockout window, the lab's valid login must work."""
from __future__ import annotations

import secrets
import time

from harness.errors import DeviceError, TransportTimeout


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
        except DeviceError as exc:
            outcome = "connection refused" if "refused" in str(exc).lower() else "error"
        curve.append({"try": i + 1, "outcome": outcome,
                      "seconds": round(time.monotonic() - t0, 3)})
        if outcome == "accepted":
            break
        if [c["outcome"] for c in curve[-2:]] == ["no answer"] * 2:
            break                     # locked out: two silent tries are evidence enough
    return curve


def throttled(curve: list[dict], base: float) -> dict:
    """Signs of throttling: later tries blocked, refused, or markedly slower."""
    blocked = [c for c in curve if c["outcome"] in ("no answer", "connection refused")]
    first = [c["seconds"] for c in curve[:3] if c["outcome"] == "refused"]
    later = [c["seconds"] for c in curve[3:] if c["outcome"] == "refused"]
    slowed = bool(first and later and max(later) > max(base, max(first)) * 3 + 1.0)
    return {"blocked_tries": len(blocked), "slowed": slowed,
            "throttled": bool(blocked) or slowed}


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

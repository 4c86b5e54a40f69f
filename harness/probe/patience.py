"""Backing off from a device that throttles: a refused or unanswered connection, or a
"slow down" answer (HTTP 429/503), is waited out with growing pauses within a bounded
budget, then the call is made again. Throttling is what TC-BRUTE-01 wants to see; the
other probes must not read it as a refusal, nor as a device that is gone."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from harness.errors import DeviceError, Throttled, TransportTimeout

# a TLS server that closes the socket in the handshake ("EOF occurred in violation of
# protocol") is a service restarting, as motion's stream does on SIGHUP after a password change
SIGNS = ("refused", "reset by peer", "timed out", "no answer", "closed connection",
         "without response", "eof occurred")


def throttle_like(exc: Exception) -> bool:
    if isinstance(exc, (Throttled, TransportTimeout)):
        return True
    return isinstance(exc, DeviceError) and any(s in str(exc).lower() for s in SIGNS)


@dataclass
class Patience:
    budget: float = 90.0             # seconds of backing off, in all, for one surface
    first: float = 2.0
    most: float = 20.0
    waited: float = 0.0
    events: list[dict] = field(default_factory=list)

    def call(self, fn, *args):
        """fn(*args), backing off while the device throttles. When the budget is spent,
        Throttled with the last sign; any other error at once."""
        pause = self.first
        while True:
            try:
                return fn(*args)
            except DeviceError as exc:
                if not throttle_like(exc):
                    raise
                if self.waited + pause > self.budget:
                    raise Throttled(f"still throttled after backing off {self.waited:.0f}s "
                                    f"in {len(self.events)} pauses: {exc}") from None
                self.events.append({"sign": str(exc)[:160], "paused_s": pause,
                                    "after_s": round(self.waited, 1)})
                time.sleep(pause)
                self.waited += pause
                pause = min(pause * 2, self.most)

    def to_dict(self) -> dict:
        return {"backed_off_s": round(self.waited, 1), "pauses": self.events}

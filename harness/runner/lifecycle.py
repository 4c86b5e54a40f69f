"""The device's one owner of its lifecycle during a test case.

Lab actions (power cycle, link down/up/degrade, redirects, a client trigger) go through it:
each is written to the device transcript with its time, duration and outcome. After an
action that takes the device away (power cycle, link restored), readiness is proven before
the test goes on: every declared TCP service that answered before the action answers again
(or, when none answered, any of them), within the profile's `boot_time`. Behind a real PDU
the action returns while the device is still booting; the next step then meets a device
that is ready, or an ERROR that says it was not. Restore steps are registered with it and
always run, in reverse order, when the test case ends (also when it failed or was stopped).
"""
from __future__ import annotations

import time
from typing import Callable

from harness.errors import DeviceError
from harness.lab.actions import run_action
from harness.transport import net

# actions after which the device must be proven ready before anything else talks to it
DISRUPTIVE = {"power_cycle": "power restored", "link_up": "link restored",
              "restore_firmware": "the starting firmware restored"}
POLL = 0.5


class Lifecycle:
    def __init__(self, device, lab, record: Callable[[dict], None] | None = None,
                 sleep=time.sleep, clock=time.monotonic):
        self.device, self.lab = device, lab
        self._restores: list[tuple[str, Callable[[], object]]] = []
        self._sleep, self._clock = sleep, clock
        self._record = record or (lambda entry: None)      # e.g. into the test's evidence

    def _log(self, entry: dict) -> None:
        self._record(entry)

    # ---- lab actions
    def act(self, action: str, timeout: float = 60.0, ready: bool = True, **extra) -> str:
        """Run a lab action (logged); after a disruptive one, wait until the device is ready
        (ready=False: the caller watches the boot itself, e.g. on the console)."""
        answering = self.answering() if action in DISRUPTIVE and ready else None
        if action == "power_cycle" and self.device.profile.lab.labgrid_place:
            from harness.runner import places     # the place's power switch, not a script
            out = self._logged(action, lambda: places.power_cycle(self.lab, self.device))
        else:
            out = self._logged(action, lambda: run_action(self.lab, self.device.profile,
                                                          action, timeout=timeout, **extra))
        if answering is not None:
            self.wait_ready(answering, why=DISRUPTIVE[action])
        return out

    def can(self, action: str) -> bool:
        """The lab can carry the action out on this unit (a lab action, or its place's
        power switch)."""
        if action == "power_cycle" and self.device.profile.lab.labgrid_place:
            return True
        return bool(getattr(self.lab.actions, action, None))

    def _logged(self, what: str, fn):
        t = self.device.wire.transcript
        t.note("lab", f"action {what}: start")
        started = self._clock()
        try:
            out = fn()
        except Exception as exc:
            took = self._clock() - started
            t.note("lab", f"action {what}: FAILED after {took:.1f}s: {exc}")
            self._log({"action": what, "outcome": f"failed: {exc}", "seconds": round(took, 1)})
            raise
        took = self._clock() - started
        t.note("lab", f"action {what}: done in {took:.1f}s")
        self._log({"action": what, "outcome": "done", "seconds": round(took, 1)})
        return out

    # ---- readiness
    def services(self) -> list[int]:
        return self.device.tcp_ports()

    def answering(self) -> list[int]:
        p = self.device.profile
        if not p.address:
            return []
        return [port for port in self.services()
                if net.tcp_open(self.device.wire, p.address, port, timeout=2.0)]

    def wait_ready(self, expected: list[int] | None = None, why: str = "") -> float:
        """Until every expected port answers (or, with none expected, any declared one), at
        most the profile's boot_time; returns the seconds it took, DeviceError otherwise."""
        p = self.device.profile
        if not p.address or not self.services():
            return 0.0                     # nothing to prove over the network
        limit = p.boot_time
        started = self._clock()
        t = self.device.wire.transcript
        while True:
            now_open = self.answering()
            ok = set(expected) <= set(now_open) if expected else bool(now_open)
            took = self._clock() - started
            if ok:
                t.note("lab", f"ready after {took:.1f}s ({why}): tcp {now_open} answer")
                self._log({"action": "ready", "outcome": f"tcp {now_open} answer",
                           "seconds": round(took, 1)})
                return took
            if took >= limit:
                missing = sorted(set(expected or self.services()) - set(now_open))
                t.note("lab", f"NOT ready after {took:.0f}s ({why}): tcp {missing} silent")
                raise DeviceError(f"the device was not ready within its boot_time of "
                                  f"{limit:.0f}s after {why or 'the lab action'}: tcp "
                                  f"{', '.join(map(str, missing))} did not answer")
            self._sleep(POLL)

    # ---- restores
    def on_exit(self, what: str, fn: Callable[[], object]) -> None:
        """A step that puts the device back (link up, redirect cleared, password restored);
        it runs when the test case ends, whatever happened."""
        self._restores.append((what, fn))

    def close(self) -> list[str]:
        """Run every registered restore, newest first; returns the ones that failed (each is
        also in the transcript). A failed restore leaves the device suspect: the caller
        marks it so that later test cases do not trust it."""
        failed = []
        while self._restores:
            what, fn = self._restores.pop()
            try:
                self._logged(f"restore: {what}", fn)
            except Exception as exc:           # every restore runs, whatever one did
                failed.append(f"{what}: {exc}")
        return failed

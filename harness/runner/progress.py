"""What a lab engineer watches while a run works: per device, the test case running now,
done/total, the verdict counts so far and the time spent.

Two renderings of the same events: a live table (rich) on a terminal, and plain lines —
one when a device test case starts, one per result — when the output is a log or CI=true.
Library code: the pytest plugin feeds it, nothing here imports pytest.
"""
from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, TextIO

from harness.model.verdict import ORDER, PROBLEMS
from harness.termsafe import clean


@dataclass
class DeviceProgress:
    name: str
    total: int
    done: int = 0
    running: str = ""
    counts: Counter = field(default_factory=Counter)         # tests that probe the device
    documents: Counter = field(default_factory=Counter)      # declaration checks
    started: float | None = None
    finished: float | None = None

    def elapsed(self, now: float) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or now) - self.started

    def tally(self) -> str:
        """Device verdicts, then the declaration checks apart ("documents ...")."""
        dev = " ".join(f"{v} {self.counts[v]}" for v in ORDER if self.counts[v]) or "-"
        docs = " ".join(f"{v} {self.documents[v]}" for v in ORDER if self.documents[v])
        return f"{dev} · documents {docs}" if docs else dev


def fmt_time(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def wants_live(stream: TextIO, env=os.environ) -> bool:
    """A live table only on an interactive terminal, never under CI."""
    if env.get("CI", "").lower() in ("true", "1", "yes") or env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Events in, lines or a live table out. `clock` is injectable for tests."""

    def __init__(self, totals: dict[str, int], write: Callable[[str], None],
                 live_stream: TextIO | None = None, clock=time.monotonic,
                 documents: set[str] = frozenset()):
        self.devices = {name: DeviceProgress(name, n) for name, n in totals.items()}
        self.documents = documents        # declaration checks: counted apart
        self.write = write
        self.clock = clock
        self.t0 = clock()
        self._live = None
        if live_stream is not None:
            self._start_live(live_stream)

    # -- events
    def started(self, device: str, test_id: str) -> None:
        d = self.devices[device]
        if d.started is None:
            d.started = self.clock()
        d.running = test_id
        if self._live is None and test_id not in self.documents:
            # declaration checks take no time; a device test case may take minutes, so
            # the log says what is running before it ends (a hang is then visible)
            self.write(f"{self._stamp()} {device:<20} {test_id:<22} running "
                       f"({d.done + 1}/{d.total})")
        self._refresh()

    def finished(self, device: str, test_id: str, verdict: str, duration: float,
                 reason: str = "") -> None:
        d = self.devices[device]
        d.done += 1
        d.running = ""
        (d.documents if test_id in self.documents else d.counts)[verdict] += 1
        if d.done >= d.total:
            d.finished = self.clock()
        self._line(f"{self._stamp()} {device:<20} {test_id:<22} {verdict:<14} "
                   f"{duration:6.1f}s  [{d.done}/{d.total}: {d.tally()}]", verdict, reason)

    def decided(self, device: str, test_id: str, verdict: str, reason: str = "") -> None:
        """A cross-unit verdict decided at the end: it replaces the unit's OBSERVED."""
        d = self.devices[device]
        if d.counts["OBSERVED"]:
            d.counts["OBSERVED"] -= 1
        d.counts[verdict] += 1
        self._line(f"{self._stamp()} {device:<20} {test_id:<22} {verdict:<14} (decided over "
                   f"all units) [{d.tally()}]", verdict, reason)

    def _line(self, line: str, verdict: str, reason: str) -> None:
        """A result's line, with its reason unless it is a PASS or DECLARED; under the live
        view only problems are printed above it."""
        if reason and verdict not in ("PASS", "DECLARED"):
            line += f" — {clean(reason[:120])}"
        if self._live is None:
            self.write(line)
        elif verdict in PROBLEMS:
            self._live.console.print(line, highlight=False, markup=False)
        self._refresh()

    def close(self) -> None:
        if self._live is not None:
            self._refresh()
            self._live.stop()
            self._live = None

    def summary_lines(self) -> list[str]:
        now = self.clock()
        return [f"{d.name:<20} {d.done}/{d.total} in {fmt_time(d.elapsed(now))}: {d.tally()}"
                for d in self.devices.values()]

    # -- rendering
    def _stamp(self) -> str:
        return f"[{fmt_time(self.clock() - self.t0):>6}]"

    def table(self):
        from rich.table import Table
        now = self.clock()
        done = sum(d.done for d in self.devices.values())
        total = sum(d.total for d in self.devices.values())
        t = Table(title=f"harness run — {done}/{total} test cases, {fmt_time(now - self.t0)}",
                  title_justify="left", expand=False)
        for col in ("device", "running now", "done", "verdicts so far", "time"):
            t.add_column(col)
        for d in self.devices.values():
            state = d.running or ("finished" if d.done >= d.total else "waiting")
            t.add_row(d.name, state, f"{d.done}/{d.total}", d.tally(), fmt_time(d.elapsed(now)))
        return t

    def _start_live(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.live import Live
        # no refresh thread: the display changes only on events, which the plugin sends
        # while pytest's output capture is suspended
        self._live = Live(self.table(), console=Console(file=stream), auto_refresh=False,
                          transient=False)
        self._live.start()

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self.table(), refresh=True)

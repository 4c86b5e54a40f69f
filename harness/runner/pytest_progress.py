"""The pytest side of the progress display: turns pytest's report stream into Progress
events. Registered in the process that owns the run, which receives the reports of its
forked device workers (harness.runner.forkpool); the workers unregister it."""
from __future__ import annotations

import re
import sys
from collections import Counter

from harness.runner import claims
from harness.runner.progress import Progress, wants_live
from harness.runner.context import now

# "test_access.py::test_no_unauthenticated_access[router-1]"
NODE = re.compile(r"::(?P<fn>[^\[:]+)\[(?P<device>[^\]]+)\]")


class ProgressReporter:
    def __init__(self, config, ctx):
        from harness.runner.suite import SUITE_DIR, load_specs, test_ids_by_function
        self.config, self.ctx = config, ctx
        self.progress: Progress | None = None
        self.announced: set[str] = set()         # units whose last test case has ended
        self.let_go: set[str] = set()            # of those, let go (unit-done)
        suite = ctx.suite_dir or SUITE_DIR
        self.test_ids = test_ids_by_function(suite)
        self.documents = {t for t, s in load_specs(suite).items() if s.evaluated == "documents"}

    def _start(self, nodeids) -> None:
        if self.progress is not None:
            return
        totals = Counter(m["device"] for m in map(NODE.search, nodeids) if m)
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        mode = self.config.getoption("progress")
        live = mode == "live" or (mode == "auto" and wants_live(sys.stdout))
        if tr:
            tr.write_line("")
        self.progress = Progress({d.name: totals.get(d.name, 0) for d in self.ctx.devices},
                                 tr.write_line if tr else print,
                                 live_stream=sys.stdout if live else None,
                                 documents=self.documents)

    def pytest_collection_finish(self, session):
        if session.items:
            self._start([i.nodeid for i in session.items])

    def pytest_runtest_logstart(self, nodeid, location):
        m = NODE.search(nodeid)
        if self.progress is not None and m and m["device"] in self.progress.devices:
            self.progress.started(m["device"], self.test_ids.get(m["fn"], m["fn"]))

    def pytest_runtest_logreport(self, report):
        for key, r in report.user_properties:
            if key == "harness_result" and self.progress is not None:
                self.progress.finished(r["device"], r["test_id"], r["verdict"],
                                       r["duration_s"], r["reason"])

    def pytest_runtest_logfinish(self, nodeid, location):
        """After a test case's teardown (its restores: the unit is back as it was). After a
        unit's last one the run needs the unit no more (cross-unit verdicts use evidence
        already recorded): a lab may take it back while others are tested, and another
        run may claim it once no test case of this run borrows it."""
        m = NODE.search(nodeid)
        if self.progress is None or not m or m["device"] not in self.progress.devices:
            return
        d = self.progress.devices[m["device"]]
        done = d.done >= d.total and m["device"] not in self.announced
        if done:
            self.announced.add(m["device"])
        # unit-done once the claim is let go, not before: a lab (or a test) taking the unit
        # at unit-done met it still claimed while its worker had not yet left the test case
        for name in claims.settle(self.ctx, m["device"] if done else None):
            self._unit_done(name)

    def _unit_done(self, name: str) -> None:
        if name in self.announced and name not in self.let_go:
            self.let_go.add(name)
            self.ctx.journal.append({"type": "unit-done", "device": name, "at": now(),
                                     "test_cases": self.progress.devices[name].total})

    def pytest_report_teststatus(self, report, config):
        """No pytest dots or letters for harness test cases: the progress lines say more."""
        if report.when != "call" and report.passed:
            return "", "", ""
        return report.outcome, "", ""

    def close(self, decided) -> None:
        """At the run's end, its claims all let go (a unit a borrow held until now too)."""
        if self.progress is None:
            return
        for name in sorted(self.announced):
            self._unit_done(name)
        for r in decided:
            self.progress.decided(r.device, r.test_id, r.verdict.value, r.reason)
        self.progress.close()

"""Device workers forked from the process that collected the run.

The process that owns the run imports the test cases and the probes' libraries (paramiko,
sslyze, ...) once, collects, then forks one worker per device — at most N at a time. A
worker runs its device's test cases in order through pytest's own runtest protocol (the
harness plugin's hooks record the verdicts into the journal, as in a run without workers)
and sends pytest's reports back over a pipe; the owner shows them and writes the reports.
Forked workers share the imported code with the owner instead of importing it each again,
as separate interpreters (pytest-xdist) do: ≈63 MiB per worker before any probe ran.

A worker that dies (killed, crashed) costs its device the test case it was running —
ERROR, with how it died — and a new worker takes the device's remaining test cases.
Workers die with the owner (PR_SET_PDEATHSIG): a killed run leaves no worker probing on.
A run stopped by SIGTERM or SIGINT (to its process or its group) tells every worker once;
each puts its device back (the running test case's restores) within a shared grace, then
what is left of the workers' process groups is killed.
"""
from __future__ import annotations

import gc
import os
import signal
import sys
import time
from multiprocessing.connection import Pipe, wait

import pytest

from harness.runner.isolate import die_with, how_it_ended, stop_on_sigterm

PRELOAD = ("paramiko", "sslyze")     # imported once, shared with every worker
STOP_GRACE = 60.0                    # seconds a worker gets to put its device back


class ForkPool:
    def __init__(self, config, workers: int, group, lost, in_worker=lambda: None):
        """`group(item)`: the device an item belongs to; `lost(item, why)`: the harness's
        verdict for a test case whose worker died, as a `user_properties` entry;
        `in_worker()`: run first in each forked worker (it lets go of the owner's claims)."""
        self.config, self.workers, self.group, self.lost = config, workers, group, lost
        self.in_worker = in_worker

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            raise session.Interrupted(f"{session.testsfailed} error(s) during collection")
        if session.config.option.collectonly:
            return True
        queue: dict[str, list] = {}
        for item in session.items:
            queue.setdefault(self.group(item), []).append(item)
        for name in PRELOAD:
            __import__(name)
        gc.collect()
        gc.freeze()            # the collector leaves the shared objects' pages alone
        running: dict = {}     # reader → Worker
        try:
            while queue or running:
                while queue and len(running) < self.workers:
                    key = next(iter(queue))
                    w = Worker(session, key, queue.pop(key), self.in_worker)
                    running[w.reader] = w
                for reader in wait(list(running)):
                    w = running[reader]
                    if not w.receive(self.config):
                        del running[reader]
                        rest = w.finish(self.config, self.lost)
                        if rest:                   # the device's remaining test cases
                            queue = {w.key: rest, **queue}
        except BaseException:           # the run stops early (a signal, an error in the owner)
            stop_all(list(running.values()), STOP_GRACE)
            raise
        finally:
            gc.unfreeze()
        return True


class Worker:
    def __init__(self, session, key, items, in_worker=lambda: None):
        self.key, self.items, self.current, self.done = key, items, None, False
        self.finished = 0                  # test cases it has finished, in order
        self.reader, writer = Pipe(duplex=False)
        owner = os.getpid()
        sys.stdout.flush()
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:
            code = 1
            try:
                self.reader.close()
                in_worker()
                die_with(owner)
                os.setpgid(0, 0)        # a group of its own: what it starts goes with it
                stop_on_sigterm()
                code = _run(session, items, writer)
            except BaseException:        # noqa: B036 - nothing may escape into the owner's code
                pass
            finally:
                os._exit(code)
        writer.close()

    def receive(self, config) -> bool:
        """One message from the worker; False when it is gone (pipe closed)."""
        try:
            kind, *args = self.reader.recv()
        except (EOFError, OSError):
            return False
        if kind == "logstart":
            self.current = args[0]
            config.hook.pytest_runtest_logstart(nodeid=args[0], location=args[1])
        elif kind == "report":
            report = config.hook.pytest_report_from_serializable(config=config, data=args[0])
            config.hook.pytest_runtest_logreport(report=report)
        elif kind == "logfinish":
            self.current = None
            self.finished += 1
            config.hook.pytest_runtest_logfinish(nodeid=args[0], location=args[1])
        elif kind == "done":
            self.done = True
        return True

    def finish(self, config, lost) -> list:
        """Reap the worker. If it died mid-way: the test case under way — or, between two,
        the next one, so that a worker that cannot even start still ends — is ERROR, and
        the device's test cases after it are returned, to run in a new worker."""
        self.reader.close()
        _, status = os.waitpid(self.pid, 0)
        if self.done or self.finished >= len(self.items):
            return []
        item = self.items[self.finished]
        during = self.current == item.nodeid
        why = (f"the device worker (pid {self.pid}) died {'during' if during else 'before'} "
               f"the test case ({how_it_ended(status)})")
        if not during:
            config.hook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        from _pytest.reports import TestReport
        report = TestReport(item.nodeid, item.location, {}, "failed", why, "call",
                            user_properties=[lost(item, why)])
        config.hook.pytest_runtest_logreport(report=report)
        config.hook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return self.items[self.finished + 1:]

    def reaped(self) -> bool:
        try:
            return os.waitpid(self.pid, os.WNOHANG) != (0, 0)
        except ChildProcessError:
            return True

    def kill_group(self) -> None:
        """What is left of the worker's process group (its nmap, say): killed."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def stop_all(workers: list, grace: float) -> None:
    """The run stops early: every worker is told at once (SIGTERM, once: it puts its device
    back — the test case's restores — and ends) and has `grace` seconds in all, not each;
    then whatever is left of the workers' process groups is killed."""
    for w in workers:
        try:
            os.kill(w.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    waiting = list(workers)
    while waiting and time.monotonic() < deadline:
        waiting = [w for w in waiting if not w.reaped()]
        time.sleep(0.1)
    for w in workers:
        w.kill_group()
        if w in waiting:
            try:
                os.waitpid(w.pid, 0)
            except ChildProcessError:
                pass
        w.reader.close()


class _Forward:
    """In a worker: what the owner's terminal and reports need, sent over the pipe."""

    def __init__(self, config, writer):
        self.config, self.writer = config, writer

    def pytest_runtest_logstart(self, nodeid, location):
        self.writer.send(("logstart", nodeid, location))

    def pytest_runtest_logreport(self, report):
        data = self.config.hook.pytest_report_to_serializable(config=self.config, report=report)
        self.writer.send(("report", data))

    def pytest_runtest_logfinish(self, nodeid, location):
        self.writer.send(("logfinish", nodeid, location))


def _run(session, items, writer) -> int:
    config = session.config
    pm = config.pluginmanager
    for name in ("terminalreporter", "harness-progress"):
        plugin = pm.get_plugin(name)
        if plugin is not None:
            pm.unregister(plugin)
    capman = pm.get_plugin("capturemanager")
    if capman is not None:             # its own capture files, not the owner's
        capman.stop_global_capturing()
        capman.start_global_capturing()
    pm.register(_Forward(config, writer), "harness-forward")
    try:
        for i, item in enumerate(items):
            nextitem = items[i + 1] if i + 1 < len(items) else None
            config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
    except KeyboardInterrupt:          # the owner stops the run (SIGTERM, once): the device
        session._setupstate.teardown_exact(None)      # is put back (fixtures' restores)
        return 130
    writer.send(("done",))
    writer.close()
    return 0

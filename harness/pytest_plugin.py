"""The harness's pytest plugin: a thin layer that turns test outcomes into verdicts.

Active only when --profile is given. Options: --profile (repeatable), --lab, --out,
--allow-destructive, --run-id, --device-workers N (devices tested in parallel, each in a
worker forked from this process: harness.runner.forkpool). Fixtures: device, evidence,
run_context, lifecycle.
"""
from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import threading
import time

import pytest

from harness.errors import (InputError, Missing, NotApplicable, NotRun, UnitBusy,
                            WatchdogExpired)
from harness.model import Evidence, Verdict, spec_of
from harness.model.testcase import run_order
from harness.runner.context import LOCKS, build_context, now
from harness.runner.outcome import verdict_of

CTX = pytest.StashKey()
EVIDENCE = pytest.StashKey()
STARTED = pytest.StashKey()
SKIPPED = pytest.StashKey()


def pytest_addoption(parser):
    g = parser.getgroup("harness", "IoT conformance harness")
    g.addoption("--profile", action="append", default=[], help="device instance profile (repeat)")
    g.addoption("--lab", default=None, help="lab config (default: lab_config/emulated.yaml)")
    g.addoption("--out", default=None, help="report directory (default: reports/<run-id>)")
    g.addoption("--run-id", default=None)
    g.addoption("--order", default=None, help="the customer's order (YAML: order_id, customer, "
                "items_received, sampling): the report names it")
    g.addoption("--out-prepared", action="store_true", default=False,
                help=argparse.SUPPRESS)     # `harness run` made and checked --out already
    g.addoption("--resume-run", action="store_true", default=False,
                help=argparse.SUPPRESS)     # `harness run --resume`: --out holds the run
    g.addoption("--device-workers", type=int, default=1, metavar="N",
                help="test up to N devices at once, each in a worker forked from this process")
    g.addoption("--no-pdf", action="store_true", default=False,
                help="no report.pdf at the end (`harness report RUN_DIR` makes it later)")
    g.addoption("--allow-destructive", action="store_true", default=False,
                help="run destructive test cases (password change, updates, resets, bursts)")
    g.addoption("--progress", choices=("auto", "live", "plain"), default="auto",
                help="progress display: a live table on a terminal, plain lines in a log "
                     "(auto: live only on a TTY and not under CI=true)")


class Prepared:
    """The run context `harness run` already built and validated, handed to pytest as a
    plugin object (pytest.main(..., plugins=[Prepared(ctx)])): the profiles and the lab
    config are loaded once per run. The plain pytest path builds it here instead."""
    def __init__(self, ctx):
        self.ctx = ctx


def pytest_configure(config):
    if not config.getoption("profile"):
        return
    prepared = next((p for p in config.pluginmanager.get_plugins() if isinstance(p, Prepared)),
                    None)
    try:
        if prepared is not None:
            ctx = prepared.ctx
        else:
            ctx = build_context(config.getoption("profile"), config.getoption("lab"),
                                config.getoption("out"), config.getoption("run_id"),
                                config.getoption("allow_destructive"),
                                config.getoption("keyword") or "",
                                fresh=not config.getoption("out_prepared")
                                and not config.getoption("resume_run"))
            if config.getoption("order"):
                from harness.lab.order import load_order
                ctx.order = load_order(config.getoption("order"))
    except InputError as exc:
        raise pytest.UsageError(exc.render()) from None
    ctx.suite_dir = _suite_dir(config)
    config.stash[CTX] = ctx
    config.option.showlocals = False          # a local may hold a password (redacted anyway)
    from harness.runner.isolate import stop_on_sigterm
    stop_on_sigterm(ignore_sigint=False)      # SIGTERM stops the run as Ctrl-C does
    from harness.runner.pytest_progress import ProgressReporter
    from harness.report import writer
    if config.getoption("resume_run"):
        from harness.runner import resume
        resume.mark(ctx, resume.plan(ctx.out_dir))
    else:
        writer.start(ctx)
    from harness.runner import places
    places.acquire_all(ctx)              # before the device workers fork: they inherit it
    from harness.runner import claims
    claims.claim_all(ctx)                # no other run on this host tests the same units
    from harness.lab import ipv6
    ipv6.discover(ctx)                   # units' IPv6 addresses found on the lab link
    config.pluginmanager.register(ProgressReporter(config, ctx), "harness-progress")
    workers = config.getoption("device_workers")
    if workers > 1:
        from harness.runner.forkpool import ForkPool
        config.pluginmanager.register(ForkPool(config, workers, _device_of, _worker_lost,
                                               ctx.claims.close_inherited), "harness-forkpool")


def _suite_dir(config):
    from pathlib import Path
    for arg in config.args:
        p = Path(str(arg).split("::")[0])
        p = p if p.is_dir() else p.parent
        if any(p.glob("test_*.py")):
            return p.resolve()
    return None


def _device_of(item) -> str:
    """The unit an item probes: a device worker runs all of one unit's test cases."""
    return item.callspec.params["device"].name if hasattr(item, "callspec") else item.nodeid


def _worker_lost(item, why: str) -> tuple:
    """The device worker running `item` died: ERROR with how (harness.runner.forkpool)."""
    ctx, spec = _ctx(item.config), spec_of(item.function)
    result = spec.result(_device_of(item), Verdict.ERROR, why, started=now())
    ctx.record(result)
    return ("harness_result", {"device": result.device, "test_id": spec.id,
                               "verdict": "ERROR", "duration_s": 0.0, "reason": why})


def _ctx(config):
    return config.stash.get(CTX, None)


def pytest_collection_finish(session):
    """A unit only the vendor's documents are read for (no selected test case probes it) is
    not this run's to hold: its claim goes at once."""
    ctx = _ctx(session.config)
    if ctx is None:
        return
    probed = {_device_of(i) for i in session.items
              if getattr(spec_of(getattr(i, "function", None)), "evaluated", "") != "documents"}
    for device in ctx.devices:
        if device.name not in probed:
            ctx.claims.release(device.name)


@pytest.hookimpl(tryfirst=True)        # before -k deselection
def pytest_collection_modifyitems(session, config, items):
    ctx = _ctx(config)
    if ctx is None:
        return
    from harness.catalog import known_requirement_ids
    known = known_requirement_ids()
    for item in items:
        spec = spec_of(getattr(item, "function", None))
        if spec is None:
            raise pytest.UsageError(f"{item.nodeid}: not a harness test case (no @testcase)")
        item.extra_keyword_matches.add(spec.id)          # -k TC-CRED-01 selects it
        item.extra_keyword_matches.add(f"evaluated_{spec.evaluated}")   # --only selects by it
        unknown = [r for r in spec.requirements if r not in known]
        if unknown:
            raise pytest.UsageError(f"{item.nodeid}: unknown requirement id(s) {unknown}")
        if not spec.requirements:
            raise pytest.UsageError(f"{item.nodeid}: no catalog maps {spec.id} to a requirement "
                                    "(harness/catalogs/*.yaml), and it names none of its own")
    # state-changing test cases last, in their declared order (stable: files otherwise)
    items.sort(key=lambda i: run_order(spec_of(getattr(i, "function", None))))
    if config.getoption("resume_run"):             # what the run decided before it stopped
        from harness.runner import resume
        done = resume.plan(ctx.out_dir).done
        keep, skip = [], []
        for item in items:
            key = (item.callspec.params["device"].name, spec_of(item.function).id) \
                if hasattr(item, "callspec") else None
            (skip if key in done else keep).append(item)
        if skip:
            config.hook.pytest_deselected(items=skip)
            items[:] = keep


def pytest_generate_tests(metafunc):
    ctx = _ctx(metafunc.config)
    if ctx is not None and "device" in metafunc.fixturenames:
        # longest first: remotely operated units (link cuts, waits for safe states; units on
        # one broker take turns) start before the rest, so their tail does not end the run
        devices = sorted(ctx.devices, key=lambda d: not d.profile.remote_control)
        metafunc.parametrize("device", devices, ids=[d.name for d in devices])


@pytest.fixture
def run_context(request):
    return _ctx(request.config)


@pytest.fixture
def evidence(request, device):
    spec = spec_of(request.function)
    ctx = _ctx(request.config)
    ev = Evidence(ctx.out_dir / "artifacts" / device.name / spec.id, base=ctx.out_dir)
    request.node.stash[EVIDENCE] = ev
    return ev


@pytest.fixture
def lifecycle(device, run_context, evidence):
    """The device's lifecycle owner for this test case (lab actions, readiness, restores);
    its restores run at teardown, and a failed one marks the device suspect."""
    from harness.runner.lifecycle import Lifecycle
    lc = Lifecycle(device, run_context.lab,
                   record=lambda entry: evidence.record("lab action", entry))
    yield lc
    failed = lc.close()
    if failed:
        device.mark_broken("putting it back after a test case failed: " + "; ".join(failed))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """The device's lock is held for the whole test case, restores included, so a test
    case on a sibling unit that borrows this one never meets it mid-test."""
    ctx = _ctx(item.config)
    if ctx is None or not hasattr(item, "callspec"):
        return (yield)
    with ctx.units.holding(item.callspec.params["device"].name):
        return (yield)


def pytest_runtest_setup(item):
    ctx = _ctx(item.config)
    if ctx is None or not hasattr(item, "callspec"):
        return
    item.stash[STARTED] = (now(), time.monotonic())
    spec = spec_of(item.function)
    device = item.callspec.params["device"]
    # a kill from here on leaves this test "interrupted" (a resumed run runs it again)
    ctx.journal.append({"type": "test-start", "device": device.name, "test_id": spec.id,
                        "started": item.stash[STARTED][0]})
    device.wire.transcript.note("test", f"{spec.id} begins")   # the report links here
    why = spec.not_applicable_reason(device.profile)
    skipped = None
    if isinstance(why, Missing):
        skipped = (Verdict.NOT_RUN, f"not run: {why}")
    elif why:
        skipped = (Verdict.NOT_APPLICABLE, why)
    elif spec.destructive and not ctx.allow_destructive:
        skipped = (Verdict.NOT_RUN, "not run: destructive test case, and this run was "
                   "started without --allow-destructive")
    if skipped:
        item.stash[SKIPPED] = skipped          # pytest sees a skip; the verdict says which
        pytest.skip(skipped[1])
    if device.busy and spec.evaluated != "documents":     # the vendor's documents are read
        raise UnitBusy(device.busy)                        # whoever tests the unit
    device.ensure_alive()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test body that finds it does not apply, or cannot run, is a skip to pytest (so a
    plain `pytest testcases/` does not count it as failed); the verdict says which.
    The watchdog stops a test case that runs past the lab's budget (ERROR, with which)."""
    ctx = _ctx(item.config)
    budget = ctx.lab.timeouts.test_case if ctx is not None else None
    try:
        with _watchdog(budget, spec_of(getattr(item, "function", None))):
            return (yield)
    except (NotRun, NotApplicable) as exc:
        if _ctx(item.config) is None:
            raise
        verdict = Verdict.NOT_RUN if isinstance(exc, NotRun) else Verdict.NOT_APPLICABLE
        item.stash[SKIPPED] = (verdict, str(exc))
        pytest.skip(str(exc))


@contextlib.contextmanager
def _watchdog(seconds, spec):
    """SIGALRM in the thread that runs the test (the main thread of this process)."""
    if not seconds or spec is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise WatchdogExpired(f"{spec.id} was stopped by the watchdog after {seconds:.0f}s "
                              "(lab config timeouts.test_case)")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    ctx = _ctx(item.config)
    if ctx is None:
        return
    _redact_report(rep, ctx.redactor)
    if not hasattr(item, "callspec"):
        return
    if call.when == "teardown" or (call.when == "setup" and rep.passed):
        return
    device = item.callspec.params["device"]
    spec = spec_of(item.function)
    verdict, reason = verdict_of(call.excinfo, device, item.stash.get(SKIPPED, None))
    ev = item.stash.get(EVIDENCE, None) or Evidence()
    if verdict is Verdict.PASS and ev.declared_reason:
        verdict, reason = Verdict.DECLARED, ev.declared_reason
    deferred = verdict is Verdict.PASS and spec.decide is not None
    if deferred and ev.observation is None:
        verdict, reason = Verdict.ERROR, ("internal error in test case: a cross-unit test "
                                          "case recorded no observation")
        deferred = False
    from harness.firmware.join import join
    verdict, reason = join(device, spec.id, verdict, reason, ev, deferred, ctx)
    device.wire.transcript.flush()
    device.wire.transcript.note("test", f"{spec.id} ends: {verdict.value}")
    started, t0 = item.stash.get(STARTED, (now(), time.monotonic()))
    result = spec.result(device.name, verdict, ctx.redactor(reason) if reason else "",
                         steps=ev.steps, evidence=ev.items, artifacts=ev.artifacts,
                         artifact_sha256=ev.artifact_sha256, started=started,
                         duration_s=round(time.monotonic() - t0, 3))
    if deferred:
        ctx.observe(result, ev.observation)      # decided at the end, over every unit
    else:
        ctx.record(result)
    shown = "OBSERVED" if deferred else verdict.value
    # the showing process (this one, or the owner of a forked device worker) reads it
    rep.user_properties.append(("harness_result", {
        "device": device.name, "test_id": spec.id, "verdict": shown,
        "duration_s": result.duration_s, "reason": result.reason}))


def _redact_report(rep, redact) -> None:
    """What pytest prints of a test (its traceback, locals, captured output) through the
    run's redactor: the plain `pytest testcases/ --profile ...` path shows no password
    either."""
    if rep.longrepr is not None and not isinstance(rep.longrepr, tuple):
        rep.longrepr = redact(str(rep.longrepr))
    elif isinstance(rep.longrepr, tuple):                # a skip: (file, line, reason)
        rep.longrepr = tuple(redact(x) if isinstance(x, str) else x for x in rep.longrepr)
    rep.sections = [(title, redact(text)) for title, text in rep.sections]


def pytest_sessionfinish(session, exitstatus):
    ctx = _ctx(session.config)
    if ctx is None:
        return
    from harness.runner.crossunit import decide_all
    from harness.report import writer
    from harness.runner.suite import SUITE_DIR, load_specs
    reporter = session.config.pluginmanager.get_plugin("harness-progress")
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    # cross-unit verdicts need every unit done: a stopped run leaves them to its resumption
    decided = [] if interrupted else decide_all(ctx, load_specs(ctx.suite_dir or SUITE_DIR))
    ctx.units.release_all()
    ctx.claims.release_all()
    shutil.rmtree(ctx.out_dir / LOCKS, ignore_errors=True)
    from harness.runner import places
    places.release_all(ctx)
    if reporter is not None:
        reporter.close(decided)
    stopped = None
    if interrupted:
        stopped = ("stopped early (a signal or Ctrl-C): the test cases under way were put "
                   "back and are interrupted; harness run --resume finishes the run")
    writer.finish(ctx, stopped, pdf=not session.config.getoption("no_pdf"))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    ctx = _ctx(config)
    if ctx is None:
        return
    reporter = config.pluginmanager.get_plugin("harness-progress")
    if reporter is not None and reporter.progress is not None:
        terminalreporter.write_sep("-", "per device")
        for line in reporter.progress.summary_lines():
            terminalreporter.write_line(line)
    terminalreporter.write_line(f"harness report: {ctx.out_dir}/report.html "
                                f"(run.json, junit.xml, logs/)")

"""The harness's pytest plugin: a thin layer that turns test outcomes into verdicts.

Active only when --profile is given. Options: --profile (repeatable), --lab, --out,
--allow-destructive, --run-id. Fixtures: device, peers, evidence, run_context.
"""
from __future__ import annotations

import time

import pytest

from harness.errors import (DeviceError, Inconclusive, InputError, NotApplicable, ScopeError)
from harness.model import Evidence, Failed, Verdict, spec_of
from harness.model.verdict import Result
from harness.run import build_context, now

CTX = pytest.StashKey()
EVIDENCE = pytest.StashKey()
STARTED = pytest.StashKey()
PROGRESS = pytest.StashKey()


def pytest_addoption(parser):
    g = parser.getgroup("harness", "IoT conformance harness")
    g.addoption("--profile", action="append", default=[], help="device instance profile (repeat)")
    g.addoption("--lab", default=None, help="lab config (default: lab_config/emulated.yaml)")
    g.addoption("--out", default=None, help="report directory (default: reports/<run-id>)")
    g.addoption("--run-id", default=None)
    g.addoption("--allow-destructive", action="store_true", default=False,
                help="run destructive test cases (password change, updates, resets, bursts)")
    g.addoption("--progress", choices=("auto", "live", "plain"), default="auto",
                help="progress display: a live table on a terminal, plain lines in a log "
                     "(auto: live only on a TTY and not under CI=true)")


def pytest_configure(config):
    if not config.getoption("profile"):
        return
    try:
        ctx = build_context(config.getoption("profile"), config.getoption("lab"),
                            config.getoption("out"), config.getoption("run_id"),
                            config.getoption("allow_destructive"),
                            config.getoption("keyword") or "")
    except InputError as exc:
        raise pytest.UsageError(exc.render()) from None
    config.stash[CTX] = ctx
    from harness.report import writer
    writer.start(ctx)


def _ctx(config):
    return config.stash.get(CTX, None)


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
        unknown = [r for r in spec.requirements if r not in known]
        if unknown:
            raise pytest.UsageError(f"{item.nodeid}: unknown requirement id(s) {unknown}")


def pytest_collection_finish(session):
    ctx = _ctx(session.config)
    if ctx is None:
        return
    import sys
    from collections import Counter
    from harness.progress import Progress, wants_live
    totals = Counter(i.callspec.params["device"].name for i in session.items
                     if hasattr(i, "callspec"))
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    mode = session.config.getoption("progress")
    live = mode == "live" or (mode == "auto" and wants_live(sys.stdout))
    write = tr.write_line if tr else print
    if tr:
        tr.write_line("")
    session.config.stash[PROGRESS] = Progress(
        {d.name: totals.get(d.name, 0) for d in ctx.devices}, write,
        live_stream=sys.stdout if live else None)


def _progress(config):
    return config.stash.get(PROGRESS, None)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """Before setup, outside pytest's output capture (so is makereport)."""
    progress = _progress(item.config)
    if progress is not None and hasattr(item, "callspec"):
        progress.started(item.callspec.params["device"].name, spec_of(item.function).id)


def pytest_report_teststatus(report, config):
    """No pytest dots or letters for harness test cases: the progress lines say more."""
    if _progress(config) is not None:
        return report.outcome, "", ""


def pytest_generate_tests(metafunc):
    ctx = _ctx(metafunc.config)
    if ctx is not None and "device" in metafunc.fixturenames:
        metafunc.parametrize("device", ctx.devices, ids=[d.name for d in ctx.devices])


@pytest.fixture
def run_context(request):
    return _ctx(request.config)


@pytest.fixture
def peers(request, device):
    return _ctx(request.config).peers(device)


@pytest.fixture
def evidence(request, device):
    spec = spec_of(request.function)
    ctx = _ctx(request.config)
    ev = Evidence(ctx.out_dir / "artifacts" / device.name / spec.id)
    request.node.stash[EVIDENCE] = ev
    return ev


def pytest_runtest_setup(item):
    ctx = _ctx(item.config)
    if ctx is None or not hasattr(item, "callspec"):
        return
    item.stash[STARTED] = (now(), time.monotonic())
    spec = spec_of(item.function)
    device = item.callspec.params["device"]
    why = spec.not_applicable_reason(device.profile)
    if why:
        pytest.skip(why)
    if spec.destructive and not ctx.allow_destructive:
        pytest.skip("destructive test case not run: this run was started without "
                    "--allow-destructive")
    device.ensure_alive()


def _verdict(excinfo, device) -> tuple[Verdict, str]:
    if excinfo is None:
        return Verdict.PASS, ""
    exc = excinfo.value
    if isinstance(exc, pytest.skip.Exception) or isinstance(exc, NotApplicable):
        return Verdict.NOT_APPLICABLE, str(getattr(exc, "msg", None) or exc)
    if isinstance(exc, (Failed, AssertionError)):
        return Verdict.FAIL, str(exc).split("\nassert ")[0] or "assertion failed"
    if isinstance(exc, Inconclusive):
        return Verdict.INCONCLUSIVE, str(exc)
    if isinstance(exc, ScopeError):
        return Verdict.ERROR, f"refused by scope: {exc}"
    if isinstance(exc, DeviceError):
        if not device.health.broken and not device.check_alive():
            device.mark_broken(str(exc))
        return Verdict.ERROR, str(exc)
    return Verdict.ERROR, f"internal error in test case: {type(exc).__name__}: {exc}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    ctx = _ctx(item.config)
    if ctx is None or not hasattr(item, "callspec"):
        return
    if call.when == "teardown" or (call.when == "setup" and rep.passed):
        return
    device = item.callspec.params["device"]
    spec = spec_of(item.function)
    verdict, reason = _verdict(call.excinfo, device)
    ev = item.stash.get(EVIDENCE, None) or Evidence()
    if verdict is Verdict.PASS and ev.declared_reason:
        verdict, reason = Verdict.DECLARED, ev.declared_reason
    started, t0 = item.stash.get(STARTED, (now(), time.monotonic()))
    result = Result(test_id=spec.id, device=device.name, requirements=list(spec.requirements),
                    verdict=verdict, reason=ctx.redactor(reason) if reason else "",
                    title=spec.title, steps=list(spec.steps) + ev.steps, evidence=ev.items,
                    artifacts=ev.artifacts, destructive=spec.destructive, started=started,
                    duration_s=round(time.monotonic() - t0, 3))
    ctx.record(result)
    item.user_properties.append(("harness_verdict", verdict.value))
    if _progress(item.config) is not None:
        _progress(item.config).finished(device.name, spec.id, verdict.value,
                                        result.duration_s, result.reason)


def pytest_sessionfinish(session, exitstatus):
    ctx = _ctx(session.config)
    if ctx is None:
        return
    if _progress(session.config) is not None:
        _progress(session.config).close()
    from harness.report import writer
    writer.finish(ctx)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    ctx = _ctx(config)
    if ctx is not None:
        if _progress(config) is not None:
            terminalreporter.write_sep("-", "per device")
            for line in _progress(config).summary_lines():
                terminalreporter.write_line(line)
        terminalreporter.write_line(f"harness report: {ctx.out_dir}/report.html "
                                    f"(run.json, junit.xml, logs/)")

"""Fixtures for the project's own tests.

Tests that need root (network namespaces) skip with the reason when not root — except in
CI (CI=true), which runs as root, where such a skip would hide a broken set-up: there it
fails instead.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def need_root():
    if os.geteuid() != 0:
        msg = "needs root: emulated devices live in network namespaces"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " (CI runs as root, so this is a broken set-up)")
        pytest.skip(msg)


def harness(*args, timeout=1800, env=None):
    """Run the harness CLI as a user would; returns the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


class BackgroundRun:
    """The harness CLI started now, its result taken later (`result()`); `stop()` kills it
    with its device workers if it is still running."""

    def __init__(self, args, logdir: Path, timeout: float):
        logdir.mkdir(parents=True, exist_ok=True)
        self.deadline = time.monotonic() + timeout
        self._out = open(logdir / "stdout.txt", "w+", encoding="utf-8")
        self._err = open(logdir / "stderr.txt", "w+", encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, "-m", "harness", *map(str, args)],
                                     cwd=REPO, stdout=self._out, stderr=self._err, text=True,
                                     start_new_session=True)

    def result(self) -> subprocess.CompletedProcess:
        try:
            code = self.proc.wait(timeout=max(1.0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        self._out.seek(0)
        self._err.seek(0)
        return subprocess.CompletedProcess(self.proc.args, code, self._out.read(),
                                           self._err.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=60)
        self._out.close()
        self._err.close()


@pytest.fixture(scope="session")
def emulated_lab():
    """Every emulated device, up for the whole session; everything removed afterwards."""
    need_root()
    from harness.emulate import guard, lab
    lab.down()
    paths = lab.up()
    try:
        with guard.using(f"test session, pytest PID {os.getpid()}"):
            yield {p.stem: p for p in paths}
    finally:
        lab.down()


@pytest.fixture(scope="session")
def matrix_in_background(emulated_lab, tmp_path_factory):
    """The detection matrix run (tests/lab/test_matrix.py), started once: ≈7 minutes of
    mostly waiting on emulated devices."""
    from tests.lab.test_matrix import start_matrix
    out = tmp_path_factory.mktemp("matrix")
    reset_guards()
    run = start_matrix(emulated_lab, out)
    try:
        yield out, run
    finally:
        run.stop()


@pytest.fixture(autouse=True)
def _matrix_runs_during_the_unit_tests(request):
    """When the session has the matrix to run, it starts before the first unit test: the
    unit tests touch no device (none of them resets a unit's guard or uses the lab), so
    they go on while it works."""
    if "tests/unit" in str(request.node.fspath) and _matrix_selected(request.session):
        try:
            request.getfixturevalue("matrix_in_background")
        except Exception:       # noqa: BLE001 — pytest keeps the error: the matrix's tests
            pass                # report it, not every unit test
    yield


def reset_guards(units=None) -> None:
    """Lift the bans and make the units' brute-force guards forget the failed logins they
    counted (8 a minute on one service ban the source, like fail2ban): a lockout an earlier
    test or run provoked must not decide the next one. `units`: these only (a test that runs
    beside the matrix must not touch the units it is still testing); None: every unit.
    Bounded: 3 s."""
    from harness.emulate import netns
    from harness.emulate.netns import NS_PREFIX, STATE
    spaces = netns.namespaces() if units is None else [NS_PREFIX + u for u in units]
    for ns in spaces:
        subprocess.run(["ip", "netns", "exec", ns, "nft", "flush", "set", "inet", "hxguard",
                        "ban"], capture_output=True, timeout=10)
    dirs = STATE.glob("*") if units is None else [STATE / u for u in units]
    marks = [d / "guard-forget" for d in dirs if (d / "agent.json").exists()
             and not json.loads((d / "agent.json").read_text()).get("no_throttle")]
    for mark in marks:
        mark.touch()
    end = time.monotonic() + 3
    while any(m.exists() for m in marks) and time.monotonic() < end:
        time.sleep(0.1)


MATRIX_SELECTED = pytest.StashKey[bool]()


def _matrix_selected(session) -> bool:
    """Whether this session runs the matrix (decided once, at collection)."""
    return session.config.stash.get(MATRIX_SELECTED, False)


def _units_done(journal: Path) -> set[str]:
    if not journal.exists():
        return set()
    return {json.loads(line)["device"] for line in journal.read_text().splitlines()
            if '"unit-done"' in line and line.endswith("}")}


def wait_until_matrix_is_done_with(request, units) -> None:
    """Until the background matrix run has decided every test case of these units (its
    journal's unit-done events) or has ended. Bounded by the run's own deadline."""
    out, run = request.getfixturevalue("matrix_in_background")
    while not set(units) <= _units_done(out / "journal.jsonl") and run.proc.poll() is None:
        if time.monotonic() > run.deadline:
            pytest.fail(f"the matrix run did not finish with {sorted(units)} in time")
        time.sleep(1)


@pytest.fixture(scope="module", autouse=True)
def _module_units_free(request):
    """A module marked `units(...)` (pytestmark) may have module-scoped fixtures that run
    the harness: they too wait until the matrix is done with those units (this autouse
    fixture is set up before them)."""
    mark = request.node.get_closest_marker("units")
    if mark is not None and os.geteuid() == 0 and "tests/lab" in str(request.node.fspath):
        _units_free(request, mark.args)
    yield


def _units_free(request, units) -> None:
    """A test marked `units(...)`: once the matrix (when the session runs it) is done with
    those units, their guards reset — only theirs."""
    if _matrix_selected(request.session):
        wait_until_matrix_is_done_with(request, units)
    reset_guards(units)


@pytest.fixture(autouse=True)
def _no_lockout_from_earlier_tests(request):
    """Each lab test starts with no ban and no counted failure on the units it uses — except
    the matrix's tests: they read the run the session started in the background, which may
    still be bursting wrong passwords at a unit (a reset then made its guard forget them:
    TC-BRUTE-01 FAILed a compliant router in CI). That run starts from a reset of its own.
    A test marked `units(...)` goes on beside the matrix once the matrix is done with its
    units, and resets those only."""
    if os.geteuid() == 0 and "tests/lab" in str(request.node.fspath) \
            and "test_matrix.py" not in request.node.nodeid:
        mark = request.node.get_closest_marker("units")
        if mark is None:
            reset_guards()
        else:
            _units_free(request, mark.args)
    yield


def load_run(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())


def verdicts(run: dict) -> dict[str, dict[str, str]]:
    return {d["name"]: {r["test_id"]: r["verdict"] for r in d["results"]} for d in run["devices"]}


@pytest.hookimpl(trylast=True)       # after -k/-m deselection
def pytest_collection_modifyitems(config, items):
    """Tests marked `exclusive_lab` bring emulated devices up and down themselves: run them
    before anything starts the session-wide lab. Then the unit tests, during which the
    detection matrix works in the background (when it is selected); then the lab tests
    marked `units(...)`, each once the matrix is done with its units, while the matrix
    tests the others; then the matrix's own tests, which wait for it, before any other lab
    test touches a unit it is testing."""
    from harness.emulate.variants import VARIANTS
    taken = {v.name: i for i, v in enumerate(VARIANTS)}    # the order the matrix takes them

    def order(item) -> tuple:
        if item.get_closest_marker("exclusive_lab"):
            return 0, 0
        if "tests/unit" in str(item.fspath):
            return 1, 0
        mark = item.get_closest_marker("units")
        if mark:            # beside the matrix, once it is done with their units: first
            return 2, max(taken.get(u, len(taken)) for u in mark.args)   # what it frees first
        return (3 if "test_matrix.py" in item.nodeid else 4), 0
    items.sort(key=order)
    config.stash[MATRIX_SELECTED] = os.geteuid() == 0 and any(
        "test_matrix.py" in i.nodeid for i in items)


def lab_leftovers() -> list[str]:
    """Namespaces, links, processes and state of ours that still exist."""
    from harness.emulate import netns
    left = [f"netns {n}" for n in netns.namespaces()]
    left += [f"link {l}" for l in netns.links() if l.startswith(("hxv", "hxbr"))]
    if netns.STATE.exists():
        left.append(f"state dir {netns.STATE}")
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    if f"inet {netns.HOST_TABLE}" in tables:
        left.append(f"nft table inet {netns.HOST_TABLE}")
    if Path("/etc/netns").exists() and any(Path("/etc/netns").glob("hx-*")):
        left.append("/etc/netns/hx-*")
    marker = str(netns.STATE).encode()     # every daemon of ours names a file under it
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if marker in cmdline and int(proc.name) != os.getpid():
            shown = cmdline.replace(b"\0", b" ")[:120].decode(errors="replace")
            left.append(f"process {proc.name}: {shown}")
    return left

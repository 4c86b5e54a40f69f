"""Fixtures for the project's own tests.

Tests that need root (network namespaces) skip with the reason when not root — except in
CI (CI=true), which runs as root, where such a skip would hide a broken set-up: there it
fails instead.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

from tests.background import BackgroundRun  # noqa: E402  (re-exported for the tests)
from tests.commands import cli, harness  # noqa: E402  (re-exported for the tests)

__all__ = ["BackgroundRun", "cli", "harness"]    # re-exported (not only imported here)


def need_root():
    if os.geteuid() != 0:
        msg = "needs root: emulated devices live in network namespaces"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " (CI runs as root, so this is a broken set-up)")
        pytest.skip(msg)


# --- what the workers of one test run (pytest -n N) share -----------------------------
# The controller (or a run without -n) makes the directory; workers inherit its path.
COORD_ENV = "HX_TEST_COORD"


def coord_dir() -> Path:
    return Path(os.environ[COORD_ENV])


def pytest_configure(config):
    if not hasattr(config, "workerinput") and COORD_ENV not in os.environ:
        from harness import scratch     # a killed session's directory goes next time
        os.environ[COORD_ENV] = str(scratch.make("tests"))
        config.stash[_OWN_COORD] = os.environ[COORD_ENV]


def pytest_unconfigure(config):
    own = config.stash.get(_OWN_COORD, None)
    if own:
        shutil.rmtree(own, ignore_errors=True)
        os.environ.pop(COORD_ENV, None)


_OWN_COORD = pytest.StashKey[str]()


@contextlib.contextmanager
def _flocked(path: Path, shared: bool = False):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def shared_by_workers(name: str, up, down):
    """A session resource every worker shares: the first to need it brings it up (`up()`
    returns a JSON value the others get), the last to leave takes it down."""
    state, lock = coord_dir() / f"{name}.json", coord_dir() / f"{name}.lock"
    with _flocked(lock):
        doc = json.loads(state.read_text()) if state.exists() else {"users": 0}
        if doc["users"] == 0:
            doc["value"] = up()
        doc["users"] += 1
        state.write_text(json.dumps(doc))
    try:
        yield doc["value"]
    finally:
        with _flocked(lock):
            doc = json.loads(state.read_text())
            doc["users"] -= 1
            if doc["users"] == 0:
                state.unlink()
                down(doc["value"])
            else:
                state.write_text(json.dumps(doc))


class _UnitHold:
    """Which emulated units this worker's test holds: one lock file per unit, taken in name
    order (no deadlock), re-entrant (a module holding its units, then its tests)."""

    def __init__(self):
        self.held: dict[str, tuple[int, int]] = {}      # unit -> (fd, depth)

    @contextlib.contextmanager
    def __call__(self, units):
        taken = []
        try:
            for u in sorted(set(units)):
                if u in self.held:
                    fd, depth = self.held[u]
                    self.held[u] = (fd, depth + 1)
                else:
                    fd = os.open(coord_dir() / f"unit-{u}.lock", os.O_RDWR | os.O_CREAT, 0o600)
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    self.held[u] = (fd, 1)
                taken.append(u)
            yield
        finally:
            for u in reversed(taken):
                fd, depth = self.held[u]
                if depth == 1:
                    del self.held[u]
                    os.close(fd)
                else:
                    self.held[u] = (fd, depth - 1)


def all_units() -> list[str]:
    from harness.emulate.variants import VARIANTS
    return [v.name for v in VARIANTS]


@pytest.fixture(scope="session")
def emulated_lab():
    """Every emulated device, up for the whole test run (shared by the workers of
    `pytest -n N`); everything removed when the last worker is done with it."""
    need_root()
    from harness.emulate import guard, lab

    def up():
        lab.down()
        return [str(p) for p in lab.up()]
    with shared_by_workers("lab", up, lambda _: lab.down()) as paths:
        with guard.using(f"test session, pytest PID {os.getpid()}"):
            yield {Path(p).stem: Path(p) for p in paths}


@pytest.fixture(scope="session")
def matrix_in_background(emulated_lab):
    """The detection matrix run (tests/lab/test_matrix.py), started once per test run by
    the first worker that needs it: ≈7 minutes of mostly waiting on emulated devices."""
    from tests.lab.matrix_setup import start_matrix

    def up():
        # in the run's shared directory, not this process's basetemp: with several pytest
        # processes sharing the matrix (scripts/test.sh), pytest removes a basetemp when its
        # own process ends, and the matrix's journal would go from under the others
        out = coord_dir() / "matrix"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        reset_guards()
        return str(start_matrix(emulated_lab, out).logdir), str(out)

    def down(value):
        BackgroundRun(Path(value[0])).stop()
    with shared_by_workers("matrix", up, down) as (logdir, out):
        yield Path(out), BackgroundRun(Path(logdir))


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
# set by scripts/test.sh for a pytest process that runs beside the one holding the matrix's
# tests (sharing HX_TEST_COORD): its lab tests wait for the same matrix run
MATRIX_SHARED = "HX_TEST_MATRIX_SHARED"


def _matrix_selected(session) -> bool:
    """Whether this session runs the matrix (decided once, at collection)."""
    return session.config.stash.get(MATRIX_SELECTED, False)


class _UnitsDone:
    """The units the matrix's journal says it is done with, read as the journal grows (six
    processes polling a journal of several MB each second: only what is new is read)."""

    def __init__(self, journal: Path):
        self.journal, self.offset, self.done = journal, 0, set()

    def __call__(self) -> set[str]:
        if self.journal.exists():
            with open(self.journal, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
            whole = chunk[:chunk.rfind(b"\n") + 1]          # complete lines only
            self.offset += len(whole)
            for line in whole.decode().splitlines():
                if '"unit-done"' in line and line.endswith("}"):
                    self.done.add(json.loads(line)["device"])
        return self.done


UNITS_DONE = pytest.StashKey[_UnitsDone]()


def wait_until_matrix_is_done_with(request, units) -> None:
    """Until the background matrix run has decided every test case of these units (its
    journal's unit-done events) or has ended. Bounded by the run's own deadline."""
    out, run = request.getfixturevalue("matrix_in_background")
    stash = request.config.stash
    if UNITS_DONE not in stash:
        stash[UNITS_DONE] = _UnitsDone(out / "journal.jsonl")
    while not set(units) <= stash[UNITS_DONE]() and not run.ended():
        if time.monotonic() > run.deadline:
            pytest.fail(f"the matrix run did not finish with {sorted(units)} in time")
        time.sleep(1)


HOLD = pytest.StashKey[_UnitHold]()


@contextlib.contextmanager
def using_units(request, units):
    """A test (or a module fixture) that drives these emulated units: once the matrix (when
    the session runs it) is done with them, it holds them — no other worker's test drives
    them meanwhile — and starts with their brute-force guards reset, only theirs."""
    if _matrix_selected(request.session):
        wait_until_matrix_is_done_with(request, units)
    config = request.config
    if HOLD not in config.stash:
        config.stash[HOLD] = _UnitHold()
    with config.stash[HOLD](units):
        reset_guards(units)
        yield


def _lab_test(request) -> bool:
    return os.geteuid() == 0 and "tests/lab" in str(request.node.fspath)


@pytest.fixture(scope="module", autouse=True)
def _module_units(request):
    """A module marked `units(...)` (pytestmark) may have module-scoped fixtures that run
    the harness: the module holds its units from before them (autouse fixtures are set up
    first) to its end."""
    mark = request.node.get_closest_marker("units")
    if mark is not None and _lab_test(request):
        with using_units(request, mark.args):
            yield
    else:
        yield


@pytest.fixture(autouse=True)
def _units_held(request):
    """Each lab test holds the units it uses and starts with no ban and no counted failure
    on them — except the matrix's tests: they only read the run the session started in the
    background. A test marked `units(...)` goes on beside the matrix once the matrix is done
    with its units; an unmarked one may drive any unit: it waits for the whole matrix and
    holds every unit."""
    if _lab_test(request) and not reads_matrix(request.node.nodeid) \
            and not request.node.get_closest_marker("exclusive_lab"):
        mark = request.node.get_closest_marker("units")
        with using_units(request, mark.args if mark else all_units()):
            yield
    else:
        yield


def reads_matrix(nodeid: str) -> bool:
    """The matrix's own tests (tests/lab/test_matrix*.py): they read the run the session
    started in the background, and selecting one starts it."""
    return "/test_matrix" in "/" + nodeid.split("::")[0]


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
    from tests.lab.matrix_setup import SLOW_UNITS, matrix_order
    # when the matrix is done with a unit, roughly: in the order it takes them, but the slow
    # units (which it starts first) last
    order_ = matrix_order()
    taken = {n: i + (len(order_) if n in SLOW_UNITS else 0) for i, n in enumerate(order_)}

    def order(item) -> tuple:
        if item.get_closest_marker("exclusive_lab"):
            return 0, 0
        if "tests/unit" in str(item.fspath):
            return 1, 0
        mark = item.get_closest_marker("units")
        if mark:            # beside the matrix, once it is done with their units: first
            return 2, max((taken.get(u, len(taken)) for u in mark.args), default=-1)
        return (3 if reads_matrix(item.nodeid) else 4), 0
    items.sort(key=order)
    if hasattr(config, "workerinput"):
        skip = pytest.mark.skip(reason="brings the lab up and down itself: run it without -n "
                                       "(scripts/test.sh runs these first, on their own)")
        for item in items:
            if item.get_closest_marker("exclusive_lab"):
                item.add_marker(skip)
    config.stash[MATRIX_SELECTED] = os.geteuid() == 0 and (
        any(reads_matrix(i.nodeid) for i in items) or os.environ.get(MATRIX_SHARED) == "1")


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

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
    if os.geteuid() == 0 and "tests/unit" in str(request.node.fspath) \
            and any("test_matrix.py" in i.nodeid for i in request.session.items):
        try:
            request.getfixturevalue("matrix_in_background")
        except Exception:       # noqa: BLE001 — pytest keeps the error: the matrix's tests
            pass                # report it, not every unit test
    yield


def reset_guards() -> None:
    """Lift every ban and make every unit's brute-force guard forget the failed logins it
    counted (8 a minute on one service ban the source, like fail2ban): a lockout an earlier
    test or run provoked must not decide the next one. Bounded: 3 s."""
    from harness.emulate import netns
    from harness.emulate.netns import STATE
    for ns in netns.namespaces():
        subprocess.run(["ip", "netns", "exec", ns, "nft", "flush", "set", "inet", "hxguard",
                        "ban"], capture_output=True, timeout=10)
    marks = [d / "guard-forget" for d in STATE.glob("*") if (d / "agent.json").exists()
             and not json.loads((d / "agent.json").read_text()).get("no_throttle")]
    for mark in marks:
        mark.touch()
    end = time.monotonic() + 3
    while any(m.exists() for m in marks) and time.monotonic() < end:
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def _no_lockout_from_earlier_tests(request):
    """Each lab test starts with no ban and no counted failure on any unit — except the
    matrix's tests: they read the run the session started in the background, which may
    still be bursting wrong passwords at a unit (a reset then made its guard forget them:
    TC-BRUTE-01 FAILed a compliant router in CI). That run starts from a reset of its own."""
    if os.geteuid() == 0 and "tests/lab" in str(request.node.fspath) \
            and "test_matrix.py" not in request.node.nodeid:
        reset_guards()
    yield


def load_run(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())


def verdicts(run: dict) -> dict[str, dict[str, str]]:
    return {d["name"]: {r["test_id"]: r["verdict"] for r in d["results"]} for d in run["devices"]}


def pytest_collection_modifyitems(config, items):
    """Tests marked `exclusive_lab` bring emulated devices up and down themselves: run them
    before anything starts the session-wide lab. Then the unit tests, during which the
    detection matrix works in the background (when it is selected); then the matrix's own
    tests, which wait for it, before any other lab test touches a unit it is testing."""
    def order(item) -> int:
        if item.get_closest_marker("exclusive_lab"):
            return 0
        if "tests/unit" in str(item.fspath):
            return 1
        return 2 if "test_matrix.py" in item.nodeid else 3
    items.sort(key=order)


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

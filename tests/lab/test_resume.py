"""kill -9 of the harness in the middle of a run, then `harness run --resume`: the run is
finished without repeating what was decided, the interrupted test case is marked and run
again, and the report equals that of an uninterrupted run apart from times."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, harness, load_run, reset_guards, verdicts

UNITS = ("router-4", "router-legacy-2")
# the units it uses: it runs beside the detection matrix once the matrix is done with them
pytestmark = pytest.mark.units(*UNITS)

SELECTION = "TC-SURF or TC-CRED or TC-AUTH or TC-DECL-0"


def _args(emulated_lab, out):
    return ["run", "--no-pdf", "--out", out, "-k", SELECTION, "--profile", emulated_lab["router-4"],
            "--profile", emulated_lab["router-legacy-2"]]


def _events(out):
    path = out / "journal.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def _under_way(out) -> bool:
    ev = _events(out)
    started = {(e["device"], e["test_id"]) for e in ev if e["type"] == "test-start"}
    decided = {(e["device"], e["test_id"]) for e in ev if e["type"] == "result"}
    return any(t == "TC-CRED-01" for _, t in started - decided)


def _signal_run(pid: int, sig: int) -> None:
    """`sig` to the harness's process group and to each device worker's (a group of its
    own)."""
    groups = {pid}
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            groups.update(int(c) for c in children.read_text().split())
        except OSError:
            pass
    for g in groups:
        try:
            os.killpg(g, sig)
        except (ProcessLookupError, PermissionError):
            pass


def test_kill_and_resume_equals_an_uninterrupted_run(emulated_lab, tmp_path):
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "harness", *map(str, _args(emulated_lab,
                                                                               killed))],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:            # until a credential test is under way
            if _under_way(killed):
                # the device workers write their results themselves: frozen, the journal
                # says for sure that the test case is under way when the kill comes (a
                # worker once finished it between the read and the kill)
                _signal_run(proc.pid, signal.SIGSTOP)
                if _under_way(killed):
                    break
                _signal_run(proc.pid, signal.SIGCONT)
            time.sleep(0.2)
        else:
            raise AssertionError("the run never reached TC-CRED-01")
    finally:
        _signal_run(proc.pid, signal.SIGKILL)          # the harness and its device workers
        proc.wait(timeout=30)
    before = [e for e in _events(killed) if e["type"] == "result"]
    assert before and not any(e["type"] == "run-end" for e in _events(killed))
    import tempfile
    assert not list(Path(tempfile.gettempdir()).glob("harness-pytest-*"))   # nothing stray

    resumed = harness("run", "--resume", killed)
    assert resumed.returncode == 1, resumed.stderr[-2000:]   # legacy-2: default password
    events = _events(killed)
    results = [(e["device"], e["test_id"]) for e in events if e["type"] == "result"]
    assert len(results) == len(set(results)), "a decided test case ran twice"
    assert events[:len(before) + 50] and all(e in events for e in before)   # append-only
    interrupted = [(e["device"], e["test_id"]) for e in events if e["type"] == "interrupted"]
    assert any(t == "TC-CRED-01" for _, t in interrupted)

    clean = tmp_path / "clean"
    # the killed and the resumed run both tried the units' logins within the last minute:
    # their brute-force guards would lock the clean run out part-way through its credential
    # check (rightly INCONCLUSIVE)
    reset_guards(UNITS)
    assert harness(*_args(emulated_lab, clean)).returncode == 1
    a, b = load_run(killed), load_run(clean)
    assert a["complete"] and a["resumed"] and a["interrupted"]
    assert not (killed / ".pytest-tmp").exists()
    assert verdicts(a) == verdicts(b)
    views = lambda run: {v["scheme"]: {q["id"]: q["verdicts"] for q in v["requirements"]}
                         for v in run["schemes"]}
    assert views(a) == views(b)


def test_resume_refuses_a_finished_run_and_other_options(emulated_lab, tmp_path):
    out = tmp_path / "done"
    assert harness("run", "--out", out, "-k", "TC-DECL-01", "--profile",
                   emulated_lab["router-4"]).returncode == 0
    proc = harness("run", "--resume", out)
    assert proc.returncode == 2 and "nothing to resume" in proc.stderr
    proc = harness("run", "--resume", out, "--profile", emulated_lab["router-4"])
    assert proc.returncode == 2 and "--resume" in proc.stderr

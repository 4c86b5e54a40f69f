"""The README's five-minute tour, command by command, as a user pastes it: each exits with
the code the README promises, and the tour leaves no emulated device or report behind."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, harness, lab_leftovers, need_root
from tests.readme_tour import tour


@pytest.mark.exclusive_lab
def test_readme_tour_runs_command_by_command():
    need_root()
    harness("emulate", "down")
    reports = REPO / "reports"
    before = set(reports.iterdir()) if reports.exists() else set()
    vulndb = REPO / "lab_config" / "vulndb"        # the tour imports the fixture feeds there
    had_vulndb = vulndb.exists()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("CI", None)                  # a user's shell; output is not a TTY all the same
    seen = []
    try:
        for command, code in tour():
            if command.startswith(". "):
                continue                 # activating the venv: PATH above does that
            proc = subprocess.run(["bash", "-c", command], cwd=REPO, env=env, text=True,
                                  capture_output=True, timeout=900, stdin=subprocess.DEVNULL)
            seen.append((command, proc.returncode))
            assert proc.returncode == code, (command, proc.stdout[-1500:], proc.stderr[-1500:])
            assert "Traceback" not in proc.stderr + proc.stdout, command
            if command.startswith("harness run") and ("-k" not in command or "TC-SURF" in command):
                assert "report: " in proc.stdout and "report.html" in proc.stdout
                # progress in a non-TTY log: one line per result, naming device and case
                assert any("router-1" in line and "TC-SURF-01" in line
                           for line in proc.stdout.splitlines()), proc.stdout[-1500:]
    finally:
        harness("emulate", "down")
        if reports.exists():
            for d in set(reports.iterdir()) - before:
                shutil.rmtree(d)
        if not had_vulndb:
            shutil.rmtree(vulndb, ignore_errors=True)
    assert any(c.startswith("harness emulate up") for c, _ in seen)
    assert any(c.startswith("harness run") and rc == 1 for c, rc in seen)
    assert lab_leftovers() == []

"""Scratch directories a killed process left are removed by the next one of their kind;
a living process's and other names are left alone."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import scratch


def test_a_dead_processes_scratch_goes_a_living_ones_stays():
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    tmp = Path(tempfile.gettempdir())
    left = tmp / f"hx-unittest-{dead}-abc"
    (left / "x").mkdir(parents=True)
    (left / "x" / "f").write_text("unpacked")
    mine = tmp / f"hx-unittest-{os.getpid()}-def"
    other = tmp / f"hx-unittestother-{dead}-ghi"
    mine.mkdir()
    other.mkdir()
    try:
        with scratch.directory("unittest") as d:
            assert d.name.startswith(f"hx-unittest-{os.getpid()}-") and d.is_dir()
            assert not left.exists() and mine.exists() and other.exists()
        assert not d.exists()
    finally:
        for p in (left, mine, other):
            subprocess.run(["rm", "-rf", str(p)], check=True)

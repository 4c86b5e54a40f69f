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
    ns = scratch.pid_namespace()
    left = tmp / f"hx-unittest-{dead}-{ns}-abc"
    (left / "x").mkdir(parents=True)
    (left / "x" / "f").write_text("unpacked")
    mine = tmp / f"hx-unittest-{os.getpid()}-{ns}-def"
    other = tmp / f"hx-unittestother-{dead}-{ns}-ghi"
    # a PID of another PID namespace (a container sharing /tmp): not ours to judge
    elsewhere = tmp / f"hx-unittest-{dead}-1{ns}-jkl"
    for p in (mine, other, elsewhere):
        p.mkdir()
    try:
        with scratch.directory("unittest") as d:
            assert d.name.startswith(f"hx-unittest-{os.getpid()}-{ns}-") and d.is_dir()
            assert not left.exists() and mine.exists() and other.exists()
            assert elsewhere.exists()
        assert not d.exists()
    finally:
        for p in (left, mine, other, elsewhere):
            subprocess.run(["rm", "-rf", str(p)], check=True)

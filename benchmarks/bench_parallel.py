"""Benchmark: one device vs many in one run (devices tested in parallel), in one run.

Brings up the emulated devices (root), then times the non-destructive Level 1 suite
(`harness run`) on 1 device and on N devices, and samples the harness's memory (the sum of
the resident sets of the harness process and its device workers). Prints the wall-time
ratio N/1 and the peak memory. Not a test: nothing asserts on time.

    sudo .venv/bin/python benchmarks/bench_parallel.py [N_DEVICES] [WORKERS]
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.emulate import lab  # noqa: E402


def _tree_rss_kib(root: int) -> int:
    """Resident memory of `root` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{d}/status") as fh:
                kib = next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
        rss[int(d)] = kib
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def timed_run(paths: list[Path], workers: int) -> tuple[float, int, int]:
    """(seconds, peak memory in MiB, exit code) of one non-destructive run."""
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as out:
        args = [sys.executable, "-m", "harness", "run", "--out", f"{out}/run",
                "--workers", str(workers), "--progress", "plain"]
        for p in paths:
            args += ["--profile", str(p)]
        t0 = time.monotonic()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak = 0
        done = threading.Event()

        def sample():
            nonlocal peak
            while not done.wait(0.5):
                peak = max(peak, _tree_rss_kib(proc.pid))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait(timeout=3600)
        done.set()
        sampler.join()
        return time.monotonic() - t0, peak // 1024, code


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    lab.down()
    paths = lab.up()[:n]
    try:
        one_s, one_mb, _ = timed_run(paths[:1], 1)
        many_s, many_mb, _ = timed_run(paths, workers)
    finally:
        lab.down()
    print(f"{'run':<28}{'wall (s)':>10}{'peak MiB':>10}")
    print(f"{'1 device':<28}{one_s:>10.1f}{one_mb:>10}")
    print(f"{f'{len(paths)} devices, {workers} workers':<28}{many_s:>10.1f}{many_mb:>10}")
    print(f"ratio {len(paths)}/1 devices: {many_s / one_s:.2f}x (goal <= 2.5x); "
          f"peak memory {many_mb} MiB (goal <= 300 MiB)")


if __name__ == "__main__":
    main()

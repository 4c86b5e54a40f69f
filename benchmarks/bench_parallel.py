"""Benchmark: one device vs many in one run (devices tested in parallel), in one run.

Brings up the emulated devices (root), then times the non-destructive Level 1 suite
(`harness run`) on 1 device and on N devices, and samples the memory of its process tree:
the harness (the run's process and its forked device workers) as the sum of proportional
set sizes (PSS: a page shared by k processes counts 1/k in each — the physical memory they
take, which the goal is about) and, for comparison, as the sum of resident sets (every
shared page counted once per process); and the harness with the tools it runs (nmap,
ssh-audit, lab actions). Prints the wall-time ratio N/1 and the peaks. Not a test: nothing asserts on time.

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


def _tree_kib(root: int) -> dict[str, tuple[int, int]]:
    """(PSS, RSS) in KiB over `root` and all its descendants (from /proc), per part:
    "harness" — the run's own processes (the owner and its forked device workers, the same
    command line); "tools" — what they run (nmap, ssh-audit, lab actions). Processes in
    another network namespace are emulated devices a lab action restarted (the unit under
    test, not the harness) and are left out."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    parts = {"harness": [0, 0], "tools": [0, 0]}
    try:
        own_cmd = Path(f"/proc/{root}/cmdline").read_bytes()
        own_net = os.readlink(f"/proc/{root}/ns/net")
    except OSError:
        return {k: (0, 0) for k in parts}
    todo = [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            if os.readlink(f"/proc/{pid}/ns/net") != own_net:
                continue
            part = "harness" if Path(f"/proc/{pid}/cmdline").read_bytes() == own_cmd \
                else "tools"
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line
                              and not line[0].isdigit())
        except (OSError, ValueError):
            continue                        # gone meanwhile
        parts[part][0] += int(fields.get("Pss", "0 kB").split()[0])
        parts[part][1] += int(fields.get("Rss", "0 kB").split()[0])
    return {k: tuple(v) for k, v in parts.items()}


def timed_run(paths: list[Path], workers: int) -> tuple[float, dict, int]:
    """(seconds, peak memory in MiB per part — harness PSS, harness RSS sum, harness and
    tools PSS —, exit code) of one run."""
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as out:
        args = [sys.executable, "-m", "harness", "run", "--out", f"{out}/run",
                "--workers", str(workers), "--progress", "plain"]
        for p in paths:
            args += ["--profile", str(p)]
        t0 = time.monotonic()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak = {"harness PSS": 0, "harness RSS sum": 0, "with tools PSS": 0}
        done = threading.Event()

        def sample():
            while not done.wait(0.5):
                m = _tree_kib(proc.pid)
                for key, kib in (("harness PSS", m["harness"][0]),
                                 ("harness RSS sum", m["harness"][1]),
                                 ("with tools PSS", m["harness"][0] + m["tools"][0])):
                    peak[key] = max(peak[key], kib)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait(timeout=3600)
        done.set()
        sampler.join()
        return time.monotonic() - t0, {k: v // 1024 for k, v in peak.items()}, code


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    lab.down()
    paths = lab.up()[:n]
    try:
        one_s, one_mem, _ = timed_run(paths[:1], 1)
        many_s, many_mem, _ = timed_run(paths, workers)
    finally:
        lab.down()
    print(f"{'run':<26}{'wall (s)':>9}" + "".join(f"{k + ' MiB':>22}" for k in one_mem))
    print(f"{'1 device':<26}{one_s:>9.1f}" + "".join(f"{v:>22}" for v in one_mem.values()))
    print(f"{f'{len(paths)} devices, {workers} workers':<26}{many_s:>9.1f}"
          + "".join(f"{v:>22}" for v in many_mem.values()))
    print(f"ratio {len(paths)}/1 devices: {many_s / one_s:.2f}x (goal <= 2.5x); peak memory "
          f"of the harness (PSS) {many_mem['harness PSS']} MiB (goal <= 300 MiB)")


if __name__ == "__main__":
    main()

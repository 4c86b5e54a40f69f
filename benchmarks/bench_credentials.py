"""Benchmark: credential checks per second, the harness vs hydra, same task list, one run.

Brings up two emulated routers (root): SSH is measured on the unit without brute-force
throttling, telnet on the one with telnet. The task list is what TC-CRED-01 tries on
a surface within the lab's per-account limit (3 tries for each of the online accounts):
wrong pairs only. For SSH and telnet: the harness's attempt function over the list, then
`hydra -C LIST -t 1` (one connection at a time, as the harness does on one surface) and
`hydra -t 4` for reference. On the throttling unit a pause between tools keeps its
brute-force ban (8 failures a minute on one service) out of the figures. Not a test: nothing asserts on time.

    sudo .venv/bin/python benchmarks/bench_credentials.py
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.emulate import lab  # noqa: E402
from harness.probe import credentials  # noqa: E402
from harness.runner.context import build_context  # noqa: E402

UNITS = {"ssh:22": "router-nothrottle", "telnet:23": "router-telnet"}
BAN_WINDOW = 61.0          # s: the emulated unit forgets failures older than a minute


def tasks(device) -> list[tuple[str, str]]:
    """Wrong pairs, 3 for each online account (the lab's per-account limit)."""
    accounts = sorted(credentials.online_accounts(device.profile))
    return [(u, f"hx-bench-{u}-{i}") for u in accounts for i in range(3)][:6]
    # (0 tries/s for hydra below: it did not finish within HYDRA_LIMIT)


HYDRA_LIMIT = 120.0        # s: hydra's telnet module can wait long at a busybox login


def hydra(service: str, address: str, port: int, pairs, threads: int) -> float:
    """Seconds hydra took (infinite when it did not finish within HYDRA_LIMIT)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as fh:
        fh.write("".join(f"{u}:{p}\n" for u, p in pairs))
        fh.flush()
        t0 = time.monotonic()
        try:
            subprocess.run(["hydra", "-I", "-q", "-t", str(threads), "-s", str(port), "-C",
                            fh.name, address, service], capture_output=True, timeout=HYDRA_LIMIT)
        except subprocess.TimeoutExpired:
            return float("inf")
        return time.monotonic() - t0


def main() -> None:
    if not shutil.which("hydra"):
        sys.exit("hydra is not installed (apt-get install hydra)")
    lab.down()
    paths = lab.up(sorted(set(UNITS.values())))
    out = tempfile.TemporaryDirectory(prefix="harness-bench-")
    try:
        devices = {d.name: d for d in build_context(paths, out=out.name).devices}
        print(f"{'surface':<12}{'unit':<19}{'tries':>6}{'harness/s':>11}{'hydra -t1/s':>13}"
              f"{'hydra -t4/s':>13}{'ratio vs -t1':>14}")
        for name, unit in UNITS.items():
            device = devices[unit]
            pairs = tasks(device)
            attempt = credentials.surfaces(device)[name]
            pause = 0.0 if device.name == "router-nothrottle" else BAN_WINDOW
            port, service = int(name.split(":")[1]), name.split(":")[0]
            t0 = time.monotonic()
            for u, p in pairs:
                attempt(u, p)
            t_h = time.monotonic() - t0
            time.sleep(pause)
            t_1 = hydra(service, device.profile.address, port, pairs, 1)
            time.sleep(pause)
            t_4 = hydra(service, device.profile.address, port, pairs, 4)
            n = len(pairs)
            print(f"{name:<12}{unit:<19}{n:>6}{n / t_h:>11.2f}{n / t_1:>13.2f}{n / t_4:>13.2f}"
                  f"{(n / t_h) / (n / t_1) if t_1 != float('inf') else float('inf'):>14.2f}")
    finally:
        lab.down()
        out.cleanup()


if __name__ == "__main__":
    main()

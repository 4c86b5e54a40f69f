"""Benchmark: credential checks per second, the harness vs hydra, same task list, one run.

Brings up one emulated router with telnet (root). The task list is what TC-CRED-01 tries on
a surface within the lab's per-account limit (3 tries for each of the online accounts):
wrong pairs only. For SSH and telnet: the harness's attempt function over the list, then
`hydra -C LIST -t 1` (one connection at a time, as the harness does on one surface) and
`hydra -t 4` for reference. A pause between tools keeps the unit's brute-force ban (8
failures a minute on one service) out of the figures. Not a test: nothing asserts on time.

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
from harness.run import build_context  # noqa: E402

UNIT = "router-telnet"
BAN_WINDOW = 61.0          # s: the emulated unit forgets failures older than a minute


def tasks(device) -> list[tuple[str, str]]:
    """Wrong pairs, 3 for each online account (the lab's per-account limit)."""
    accounts = sorted(credentials.online_accounts(device.profile))
    return [(u, f"hx-bench-{u}-{i}") for u in accounts for i in range(3)][:6]


def hydra(service: str, address: str, port: int, pairs, threads: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as fh:
        fh.write("".join(f"{u}:{p}\n" for u, p in pairs))
        fh.flush()
        t0 = time.monotonic()
        subprocess.run(["hydra", "-I", "-q", "-t", str(threads), "-s", str(port), "-C", fh.name,
                        address, service], capture_output=True, timeout=300)
        return time.monotonic() - t0


def main() -> None:
    if not shutil.which("hydra"):
        sys.exit("hydra is not installed (apt-get install hydra)")
    lab.down()
    paths = lab.up([UNIT])
    out = tempfile.TemporaryDirectory(prefix="harness-bench-")
    try:
        device = build_context(paths, out=out.name).devices[0]
        pairs = tasks(device)
        attempts = credentials.surfaces(device)
        print(f"{len(pairs)} wrong pairs per surface ({UNIT})")
        print(f"{'surface':<12}{'harness/s':>11}{'hydra -t1/s':>13}{'hydra -t4/s':>13}"
              f"{'ratio vs -t1':>14}")
        for name, service in (("ssh:22", "ssh"), ("telnet:23", "telnet")):
            attempt = attempts[name]
            t0 = time.monotonic()
            for u, p in pairs:
                attempt(u, p)
            t_h = time.monotonic() - t0
            time.sleep(BAN_WINDOW)
            t_1 = hydra(service, device.profile.address, int(name.split(":")[1]), pairs, 1)
            time.sleep(BAN_WINDOW)
            t_4 = hydra(service, device.profile.address, int(name.split(":")[1]), pairs, 4)
            time.sleep(BAN_WINDOW)
            n = len(pairs)
            print(f"{name:<12}{n / t_h:>11.2f}{n / t_1:>13.2f}{n / t_4:>13.2f}"
                  f"{(n / t_h) / (n / t_1):>14.2f}")
    finally:
        lab.down()
        out.cleanup()


if __name__ == "__main__":
    main()

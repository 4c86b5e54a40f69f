"""Benchmark: the harness's attack-surface probe against plain nmap, in one run.

Brings up emulated devices (root), then for each: time `nmap -sS -p-` alone, and the
harness's ports.scan (nmap TCP full range + curated UDP list + parsing, scope checks,
transcripts). Prints per-device times and the ratio harness/nmap. Not a test: nothing
asserts on time.

    sudo .venv/bin/python benchmarks/bench_scan.py [N_DEVICES]
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.emulate import lab  # noqa: E402
from harness.lab.config import load_lab  # noqa: E402
from harness.run import build_context  # noqa: E402
from harness.probe import ports  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    names = ["router-1", "router-telnet", "camera-open", "appliance-1", "router-2"][:n]
    lab.down()
    paths = lab.up(names)
    out = tempfile.TemporaryDirectory(prefix="harness-bench-")
    try:
        labcfg, _ = load_lab(None)
        ctx = build_context(paths, out=out.name)
        rate = labcfg.rate_limits.scan_max_rate
        print(f"{'device':<16}{'nmap -p- (s)':>14}{'harness (s)':>13}{'ratio':>8}")
        tot_n = tot_h = 0.0
        for d in ctx.devices:
            t0 = time.monotonic()
            subprocess.run(["nmap", "-n", "-Pn", "-sS", "-p-", "--max-rate", str(rate),
                            "--max-retries", "2", d.profile.address], capture_output=True,
                           check=True)
            t_nmap = time.monotonic() - t0
            t0 = time.monotonic()
            scans = ports.scan(d, labcfg)
            t_h = time.monotonic() - t0
            tot_n, tot_h = tot_n + t_nmap, tot_h + t_h
            print(f"{d.name:<16}{t_nmap:>14.2f}{t_h:>13.2f}{t_h / t_nmap:>8.2f}"
                  f"   open tcp {sorted(scans[0].tcp_open)}")
        print(f"{'total':<16}{tot_n:>14.2f}{tot_h:>13.2f}{tot_h / tot_n:>8.2f}"
              "   (harness adds the UDP list and parsing)")
    finally:
        lab.down()
        out.cleanup()


if __name__ == "__main__":
    main()

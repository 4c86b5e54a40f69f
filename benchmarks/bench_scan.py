"""Benchmark: the harness's TCP scan step against `nmap -sT -p- -T4`, in one run.

Brings up emulated devices (root), then for each: time `nmap -sT -p- -T4` alone on each of
the device's addresses (IPv4 and IPv6, as the harness scans both), the harness's TCP step
(ports.scan without UDP: nmap full range at the lab's rate, the declared-port pre-probe,
the rescan rule, parsing, scope checks, transcripts), and the curated UDP list as its own
figure (ports.scan with UDP, minus the TCP step). Prints per-device times and the ratio
harness TCP / nmap -sT. Not a test: nothing asserts on time.

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
from harness.runner.context import build_context  # noqa: E402
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
        print(f"{'device':<16}{'nmap -sT (s)':>13}{'harness TCP (s)':>16}{'ratio':>7}"
              f"{'UDP list (s)':>13}")
        tot_n = tot_h = 0.0
        for d in ctx.devices:
            t0 = time.monotonic()
            for addr in (a for a in (d.profile.address, d.profile.address6) if a):
                subprocess.run(["nmap", "-n", "-Pn", "-sT", "-p-", "-T4",
                                *(["-6"] if ":" in addr else []), addr],
                               capture_output=True, check=True)
            t_nmap = time.monotonic() - t0
            t0 = time.monotonic()
            scans = ports.scan(d, labcfg, udp=False)
            t_h = time.monotonic() - t0
            t0 = time.monotonic()
            ports.scan(d, labcfg, udp=True)
            t_udp = time.monotonic() - t0 - t_h
            tot_n, tot_h = tot_n + t_nmap, tot_h + t_h
            print(f"{d.name:<16}{t_nmap:>13.2f}{t_h:>16.2f}{t_h / t_nmap:>7.2f}{t_udp:>13.2f}"
                  f"   open tcp {sorted(scans[0].tcp_open)}")
        print(f"{'total':<16}{tot_n:>13.2f}{tot_h:>16.2f}{tot_h / tot_n:>7.2f}")
    finally:
        lab.down()
        out.cleanup()


if __name__ == "__main__":
    main()

"""A labgrid bench host for emulated units: `harness emulate labgrid NAME...`.

One more namespace on the lab bridge (hx-bench, 198.18.0.3) plays the bench host of a
shared lab: a labgrid coordinator, a labgrid exporter publishing each named unit's serial
console (its USB-serial pty, served by ser2net as labgrid does for a real adapter) and its
power outlet on an emulated network PDU (labgrid's `simplerest` model), and one place per
unit (`emu-NAME`). It writes a profile per unit that reaches the unit through the place
(NAME.labgrid.yaml next to the unit's own profile). labgrid comes from the set-up's own
virtual environment (.venv-labgrid), ser2net from Debian. `harness emulate down` removes
it with the rest.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from harness.emulate import netns, profiles
from harness.emulate.netns import STATE, EmulateError
from harness.emulate.variants import GATEWAY, SUBNET, select

BENCH = "198.18.0.3"
BENCH_NS = "hx-bench"
BENCH_LINK = 250                       # hxv250: far above the units' link numbers
COORDINATOR = f"{BENCH}:20408"
PDU_PORT = 8090
EXPORTER = "hx-bench"                  # the exporter's name: matches are EXPORTER/NAME/*


def _dir() -> Path:
    return STATE / "_bench"


def place_name(name: str) -> str:
    return f"emu-{name}"


def _tools() -> Path:
    from harness.lab.labgrid import client_path
    bindir = Path(client_path(None)).parent
    missing = [t for t in ("labgrid-client", "labgrid-coordinator", "labgrid-exporter")
               if not (bindir / t).exists()] + ([] if shutil.which("ser2net") else ["ser2net"])
    if missing:
        raise EmulateError(f"{', '.join(missing)} not installed (looked in {bindir}); run "
                           "scripts/setup.sh")
    return bindir


def _client(bindir: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run([str(bindir / "labgrid-client"), "-x", COORDINATOR, *args],
                          capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise EmulateError(f"labgrid-client {' '.join(args)}: "
                           f"{(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    return proc.stdout


def _wait_port(host: str, port: int, what: str, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise EmulateError(f"{what} did not listen on {host}:{port} within {timeout:.0f}s "
                       f"(logs in {_dir()})")


def up(names: list[str]) -> list[Path]:
    netns.need_root()
    bindir = _tools()
    variants = select(names)
    for v in variants:
        if not (STATE / v.name / "console").exists():
            raise EmulateError(f"{v.name} is not up: run 'harness emulate up {v.name}' first")
    d = _dir()
    (d / "coordinator").mkdir(parents=True, exist_ok=True)
    if BENCH_NS not in netns.namespaces():
        netns.add_host(BENCH_NS, BENCH_LINK, BENCH, netns.check_subnet(SUBNET).prefixlen,
                       GATEWAY)
        netns.spawn(BENCH_NS, ["env", "-C", str(d / "coordinator"),
                               str(bindir / "labgrid-coordinator"), "-l", COORDINATOR],
                    d / "pids", "coordinator", d / "coordinator.log")
        netns.spawn(BENCH_NS, [sys.executable, "-m", "harness.emulate.pdu", BENCH,
                               str(PDU_PORT)], d / "pids", "pdu", d / "pdu.log",
                    env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])})
        _wait_port(BENCH, int(COORDINATOR.rpartition(":")[2]), "labgrid-coordinator")
        _wait_port(BENCH, PDU_PORT, "the emulated PDU")
    units_file = d / "units.json"
    units = sorted(set(json.loads(units_file.read_text()) if units_file.exists() else [])
                   | {v.name for v in variants})
    _export(bindir, units)
    units_file.write_text(json.dumps(units))
    for name in units:
        place = place_name(name)
        if f"Place '{place}'" not in _client(bindir, "-p", place, "show", check=False):
            _client(bindir, "-p", place, "create")
            _client(bindir, "-p", place, "add-match", f"{EXPORTER}/{name}/*")
    return [profiles.write(v, labgrid_place=place_name(v.name)) for v in variants]


def _export(bindir: Path, units: list[str]) -> None:
    """(Re)start the exporter with every unit's console and outlet; wait until the
    coordinator lists them."""
    d = _dir()
    config = {}
    for v in select(units):
        tty = os.path.realpath(STATE / v.name / "console")
        config[v.name] = {
            "RawSerialPort": {"port": tty, "speed": 115200},
            "NetworkPowerPort": {"model": "simplerest", "index": v.index,
                                 "host": f"http://{BENCH}:{PDU_PORT}/outlet/{{index}}/{{value}}"}}
    (d / "exporter.yaml").write_text(json.dumps(config, indent=2))     # JSON is YAML
    netns.stop_recorded_one(d / "pids", "exporter")
    netns.spawn(BENCH_NS, [str(bindir / "labgrid-exporter"), "-c", COORDINATOR, "--hostname",
                           BENCH, "-n", EXPORTER, str(d / "exporter.yaml")],
                d / "pids", "exporter", d / "exporter.log")
    end = time.monotonic() + 30
    while time.monotonic() < end:
        listed = _client(bindir, "resources", check=False)
        if all(f"{EXPORTER}/{u}/NetworkSerialPort" in listed for u in units):
            return
        time.sleep(0.5)
    raise EmulateError(f"the labgrid exporter did not publish {', '.join(units)} within 30s "
                       f"(see {d / 'exporter.log'})")

"""A labgrid place as a unit's serial console and power switch.

The harness is a labgrid client, not a second scheduler: it acquires the place a profile
names (`lab: {labgrid_place: ...}`) on the lab's coordinator before the unit's first test
case, opens the console the place's exporter publishes (ser2net, RFC 2217) with its own
serial transport, switches power through the place (`labgrid-client power`), and releases
the place when the run ends. labgrid runs as a tool in a virtual environment of its own
(it replaces pyserial with a fork), called like nmap.

Every address labgrid would make anything talk to is checked against the lab's scope
first: the coordinator, the console's exporter host and the power switch's host.
The holder name is `harness-<run id>`: a resumed run takes back the places its killed
predecessor held; another run waits for them (bounded), then fails naming the holder.
"""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

from harness.errors import DeviceError, ScopeError

REPO = Path(__file__).resolve().parents[2]
OWN_VENV_CLIENT = REPO / ".venv-labgrid" / "bin" / "labgrid-client"
RESOURCE = re.compile(r"^Acquired resource '[^']*' \(([^)]*)\):\n((?:  .*\n?)+)", re.M)
HELD = re.compile(r"already acquired by (\S+?)\.?(?:\s|$)")


class PlaceError(DeviceError):
    """The place could not be acquired, read or switched (the cause says why)."""


def client_path(configured: str | None) -> str:
    """labgrid-client: the lab config's path, else the set-up's own venv, else PATH."""
    if configured:
        return configured
    if OWN_VENV_CLIENT.exists():
        return str(OWN_VENV_CLIENT)
    return shutil.which("labgrid-client") or str(OWN_VENV_CLIENT)


def holder(run_id: str) -> str:
    return "harness-" + re.sub(r"[^A-Za-z0-9._-]", "_", run_id)


class Client:
    """labgrid-client for one holder (`holder(run_id)`)."""

    def __init__(self, cfg, scope, user: str, runner=subprocess.run):
        self.cfg, self.scope, self.user = cfg, scope, user
        host, _, _ = cfg.coordinator.rpartition(":")
        self.scope.check(host.strip("[]"))           # ScopeError before any packet
        self._runner = runner

    def _run(self, place: str, *args: str, timeout: float = 30.0) -> str:
        cmd = [client_path(self.cfg.client), "-x", self.cfg.coordinator, "-p", place, *args]
        env = {**os.environ, "LG_USERNAME": self.user}
        try:
            proc = self._runner(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except OSError as exc:
            raise PlaceError(f"labgrid-client cannot run ({cmd[0]}: {exc.strerror or exc}): "
                             "run scripts/setup.sh or set labgrid.client in the lab config"
                             ) from None
        except subprocess.TimeoutExpired:
            raise PlaceError(f"labgrid place {place}: '{' '.join(args)}' did not finish in "
                             f"{timeout:.0f}s (coordinator {self.cfg.coordinator})") from None
        if proc.returncode != 0:
            lines = [ln for ln in (proc.stderr or proc.stdout).strip().splitlines() if ln]
            raise PlaceError(f"labgrid place {place}: {' '.join(args)}: "
                             f"{lines[-1] if lines else f'exit {proc.returncode}'}")
        return proc.stdout

    # ---- the place
    def acquire(self, place: str, sleep=time.sleep, clock=time.monotonic) -> dict:
        """Acquire (ours already: fine), waiting at most acquire_timeout for another holder;
        returns the place's resources (see resources())."""
        end = clock() + self.cfg.acquire_timeout
        while True:
            try:
                self._run(place, "acquire")
                break
            except PlaceError as exc:
                text = str(exc)
                if "already acquired place" in text:             # ours, from a killed run
                    break
                held = HELD.search(text)
                if not held:
                    raise
                if clock() >= end:
                    raise PlaceError(f"labgrid place {place} is held by {held.group(1)}: "
                                     f"waited {self.cfg.acquire_timeout:.0f}s") from None
                sleep(2.0)
        return self.resources(place)

    def release(self, place: str) -> None:
        self._run(place, "release")

    def resources(self, place: str) -> dict:
        """{'serial': 'rfc2217://HOST:PORT' | None, 'power': 'HOST' | None}, scope-checked."""
        found = parse_show(self._run(place, "show"))
        out = {"serial": None, "power": None}
        for params in found.get("NetworkSerialPort", []):
            host, port = params.get("host"), params.get("port")
            if host and port:
                ip = self._in_scope(place, host, "serial console")
                out["serial"] = f"rfc2217://{f'[{ip}]' if ':' in ip else ip}:{port}"
        for params in found.get("NetworkPowerPort", []):
            host = str(params.get("host") or "")
            name = urllib.parse.urlsplit(host).hostname if "://" in host else host
            if name:
                out["power"] = self._in_scope(place, name, "power switch")
        return out

    def power(self, place: str, action: str, off_seconds: float = 2.0) -> None:
        args = ["power", action] + (["-t", f"{off_seconds:g}"] if action == "cycle" else [])
        self._run(place, *args, timeout=60.0 + off_seconds)

    def _in_scope(self, place: str, host: str, what: str) -> str:
        try:
            return self.scope.check(host)
        except ScopeError as exc:
            raise PlaceError(f"labgrid place {place}: its {what} is out of scope: "
                             f"{exc}") from None


MAX_SHOW = 1 << 20          # a place's `show` is a few kB
MAX_ENTRY = 64 << 10        # one resource's literal


def parse_show(text: str) -> dict[str, list[dict]]:
    """The acquired resources' parameters from `labgrid-client show`, by class. What a
    coordinator answers is not trusted: an answer too large, an entry nested too deep or
    too large is the place's error (PlaceError naming the entry), never the run's."""
    if len(text) > MAX_SHOW:
        raise PlaceError(f"labgrid-client show answered {len(text)} bytes (more than "
                         f"{MAX_SHOW}): not a place's resources")
    out: dict[str, list[dict]] = {}
    for n, match in enumerate(RESOURCE.finditer(text)):
        literal = match.group(2).strip()
        if len(literal) > MAX_ENTRY:
            raise PlaceError(f"labgrid-client show: resource {match.group(1)!r} (entry {n}) "
                             f"is {len(literal)} bytes, more than {MAX_ENTRY}")
        try:
            data = ast.literal_eval(literal)
        except (ValueError, SyntaxError, TypeError):
            continue
        except (RecursionError, MemoryError):
            raise PlaceError(f"labgrid-client show: resource {match.group(1)!r} (entry {n}) "
                             "is nested too deeply to read") from None
        if isinstance(data, dict) and isinstance(data.get("params"), dict):
            params = {str(k): v for k, v in data["params"].items()
                      if isinstance(v, (str, int, float, bool, type(None)))}
            out.setdefault(str(data.get("cls"))[:80], []).append(params)
    return out

"""A run: its context (lab, devices, output directory) and its append-only journal.

The journal (journal.jsonl) gets one line per event as it happens, flushed to disk, so
a killed run loses nothing already decided. run.json is built from the journal.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from harness.device import Device
from harness.lab.config import LabConfig, load_lab
from harness.model.verdict import Result
from harness.profile.loader import load_profile
from harness.errors import InputError, ScopeError
from harness.transport.transcript import Redactor, Transcript
from harness.transport.wire import Wire

REPO = Path(__file__).resolve().parents[1]


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


class Journal:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, event: dict) -> None:
        line = json.dumps(event, sort_keys=True, default=str)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def events(self) -> list[dict]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue          # a line torn by a kill: everything before it stands
        return out


@dataclass
class RunContext:
    run_id: str
    out_dir: Path
    lab: LabConfig
    lab_path: str
    devices: list[Device]
    allow_destructive: bool = False
    selection: str = ""
    started: str = field(default_factory=now)
    redactor: Redactor = field(default_factory=Redactor)

    @property
    def journal(self) -> Journal:
        return Journal(self.out_dir / "journal.jsonl")

    def record(self, result: Result) -> None:
        self.journal.append(self.redactor.obj({"type": "result", **result.to_dict()}))

    def record_identity(self, device: Device, identity: dict) -> None:
        device.identity.update(identity)
        self.journal.append(self.redactor.obj({"type": "identity", "device": device.name,
                                               "identity": identity}))

    def device(self, name: str) -> Device:
        return next(d for d in self.devices if d.name == name)

    def peers(self, device: Device) -> list[Device]:
        """Other units of the same vendor and model in this run."""
        p = device.profile
        return [d for d in self.devices if d is not device
                and (d.profile.vendor, d.profile.model) == (p.vendor, p.model)]


def check_scope(lab: LabConfig, profiles) -> None:
    """Refuse the whole run, before any packet, if any profile names an out-of-scope target."""
    scope = lab.scope_checker()
    for profile, path in profiles:
        for target in profile.targets():
            try:
                scope.check(target)
            except ScopeError as exc:
                raise InputError(str(exc), path, None, "address") from None
        if profile.serial and "://" in profile.serial.port:
            from harness.transport.serial import _network_host
            host = _network_host(profile.serial.port)
            if host:
                try:
                    scope.check(host[0])
                except ScopeError as exc:
                    raise InputError(str(exc), path, None, "serial.port") from None


def build_context(profile_paths, lab_path=None, out=None, run_id=None,
                  allow_destructive=False, selection="") -> RunContext:
    """Load and validate everything; InputError on any bad input. Sends nothing."""
    if not profile_paths:
        raise InputError("at least one --profile is needed", None, None, "--profile")
    lab, lab_file = load_lab(lab_path)
    loaded = []
    names = {}
    for path in profile_paths:
        profile, digest = load_profile(path)
        if profile.name in names:
            raise InputError(f"device name '{profile.name}' is already used by {names[profile.name]}",
                             str(path), None, "name")
        names[profile.name] = str(path)
        loaded.append((profile, str(path), digest))
    check_scope(lab, [(p, path) for p, path, _ in loaded])
    run_id = run_id or new_run_id()
    out_dir = Path(out) if out else REPO / "reports" / run_id
    out_dir.mkdir(parents=True, exist_ok=True)
    # documented defaults are public knowledge, not secrets: masking them would only hide
    # the evidence (and every occurrence of a common word like "admin")
    from harness.probe.credentials import load_list
    public = {c.password for c in load_list()} | {
        c.password for p, _, _ in loaded for c in p.default_credentials}
    secrets_ = [s for p, _, _ in loaded for s in p.secrets() if s not in public]
    redactor = Redactor(secrets_)
    scope = lab.scope_checker()
    devices = []
    for profile, path, digest in loaded:
        transcript = Transcript(out_dir / "logs" / f"{profile.name}.log", redactor)
        wire = Wire(scope, transcript, lab.timeouts.connect, lab.timeouts.command)
        devices.append(Device(profile, wire, path, digest))
    return RunContext(run_id, out_dir, lab, lab_file, devices, allow_destructive, selection,
                      redactor=redactor)

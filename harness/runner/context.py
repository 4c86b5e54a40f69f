"""A run: its context (lab, devices, output directory) and its append-only journal.

The journal (journal.jsonl) gets one line per event as it happens, flushed to disk, so
a killed run loses nothing already decided. run.json is built from the journal.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from harness.device import Device
from harness.lab.config import LabConfig, load_lab
from harness.model.verdict import Result, now  # noqa: F401 (now: re-exported)
from harness.profile.loader import load_profile
from harness.errors import InputError, ScopeError
from harness.redact import Redactor
from harness.transport.transcript import Transcript
from harness.transport.wire import Wire

REPO = Path(__file__).resolve().parents[2]
LOCKS = ".locks"            # the run's per-device lock files (removed when the run ends)


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


class Journal:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, event: dict) -> None:
        """One line, written whole: device workers (processes) append to the same journal,
        so the line goes out in a single write under an exclusive lock, then fsync."""
        data = (json.dumps(event, sort_keys=True, default=str) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)          # releases the lock

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
    suite_dir: Path | None = None
    started: str = field(default_factory=now)
    redactor: Redactor = field(default_factory=Redactor)
    order: dict | None = None        # the customer's order (harness.lab.order)
    _units: object = None
    _claims: object = None

    @property
    def units(self):
        """The per-device locks every worker of this run shares (harness.runner.unitlock)."""
        if self._units is None:
            from harness.runner.unitlock import UnitLocks
            self._units = UnitLocks(self.out_dir / LOCKS)
        return self._units

    @property
    def claims(self):
        """The units this run claims from other runs on the host (harness.runner.claims)."""
        if self._claims is None:
            from harness.runner import claims
            self._claims = claims.Claims(claims.directory(self.lab, self.lab_path), {
                "run": self.run_id, "pid": os.getpid(), "out": str(self.out_dir)})
        return self._claims

    @property
    def journal(self) -> Journal:
        return Journal(self.out_dir / "journal.jsonl")

    def record(self, result: Result) -> None:
        self.journal.append(self.redactor.obj({"type": "result", **result.to_dict()}))

    def observe(self, result: Result, data: dict) -> None:
        from harness.runner.crossunit import observation_event
        self.journal.append(self.redactor.obj(observation_event(result, data)))

    def record_identity(self, device: Device, identity: dict) -> None:
        device.identity.update(identity)
        self.journal.append(self.redactor.obj({"type": "identity", "device": device.name,
                                               "identity": identity}))

    def device(self, name: str) -> Device:
        return next(d for d in self.devices if d.name == name)


def check_scope(lab: LabConfig, profiles) -> None:
    """Refuse the whole run, before any packet, if any profile names an out-of-scope target."""
    scope = lab.scope_checker()
    places = [(p, path) for p, path in profiles if p.lab.labgrid_place]
    if places and not lab.labgrid:
        raise InputError(f"the unit's labgrid place '{places[0][0].lab.labgrid_place}' needs "
                         "a coordinator: the lab config has no 'labgrid' section", places[0][1],
                         None, "lab.labgrid_place")
    for profile, path in profiles:
        for target in profile.targets():
            try:
                scope.check(target)
            except ScopeError as exc:
                raise InputError(str(exc), path, None, "address") from None
        if profile.serial:
            from harness.transport.serial import network_target
            target = network_target(profile.serial.port)     # validated by the schema
            if target:
                try:
                    scope.check(target[1])
                except ScopeError as exc:
                    raise InputError(str(exc), path, None, "serial.port") from None


def prepare_out_dir(out_dir: Path, mode: int, fresh: bool) -> None:
    """The run's directory, readable by its owner only by default (device transcripts and
    evidence are under NDA); a new run never writes into another run's directory."""
    try:
        if fresh and out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
            raise InputError("the report directory is not empty (it holds another run); "
                             "choose a new one", str(out_dir), None, "--out")
        out_dir.mkdir(parents=True, exist_ok=True)
        if fresh:
            out_dir.chmod(mode)
        probe = out_dir / ".write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write the report directory: {exc.strerror or exc}",
                         str(out_dir), None, "--out") from None


def build_context(profile_paths, lab_path=None, out=None, run_id=None,
                  allow_destructive=False, selection="", fresh: bool = True) -> RunContext:
    """Load and validate everything; InputError on any bad input. Sends nothing.
    `fresh`: a new run (its directory must be new or empty); a device worker joining the
    run passes False."""
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
    prepare_out_dir(out_dir, 0o750 if lab.report_access == "group" else 0o700, fresh)
    # a vendor's documented default is public knowledge: masking it would only hide the
    # evidence. A lab password that merely appears on the generic known-credential list
    # is still this unit's secret and is masked.
    public = {c.password for p, _, _ in loaded for c in p.default_credentials}
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

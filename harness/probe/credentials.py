"""Known default and weak credentials on every login surface the profile declares.

Success needs positive evidence: a command's output (SSH, telnet, serial), an admin page
that answers 2xx after the login (HTTP basic, digest or form with its session cookie), a 2xx/230/CONNACK-success reply (RTSP, FTP, MQTT).
Each surface is calibrated first with one deliberately wrong password: if that is
accepted the surface authenticates nothing and is left to the unauthenticated-access test.
Bounded: at most N passwords per account, stop at the first hit, stop a surface on signs
of lockout.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from harness import yamlsrc
from harness.errors import DeviceError, TransportTimeout

DEFAULT_LIST = Path(__file__).resolve().parents[1] / "data" / "credentials.yaml"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    password: str
    source: str


class _List(BaseModel):
    model_config = ConfigDict(extra="forbid")
    credentials: list[_Entry]


def load_list(path: str | Path = DEFAULT_LIST) -> list[_Entry]:
    data, origins = yamlsrc.load(path)
    try:
        return _List.model_validate(data).credentials
    except ValidationError as exc:
        raise yamlsrc.pydantic_error(exc, origins, str(path)) from None


@dataclass
class SurfaceResult:
    surface: str
    tried: list[str] = field(default_factory=list)        # "user:<source>", never passwords
    hit: dict | None = None
    calibrated: str = ""
    stopped: str = ""

    def to_dict(self):
        return self.__dict__


ONLINE_ACCOUNTS = ("admin", "root")


def online_accounts(profile) -> set[str]:
    """Accounts worth trying on the device: the lab's, the vendor's documented ones and the
    two near-universal administrators. The rest of the list is checked offline only."""
    from harness import surfaces
    users = {c.username for c in profile.default_credentials} | set(ONLINE_ACCOUNTS)
    return users | {s.username for s in surfaces.of(profile) if s.username}


def candidates(profile, entries, per_account: int) -> list[_Entry]:
    """Vendor-documented defaults first, then the list for the online accounts, capped per
    account."""
    out, count = [], {}
    vendor = [_Entry(username=c.username, password=c.password, source=c.source)
              for c in profile.default_credentials]
    accounts = online_accounts(profile)
    entries = [e for e in entries if e.username in accounts]
    for e in vendor + list(entries):
        if any((e.username, e.password) == (o.username, o.password) for o in out):
            continue
        if e in vendor or count.get(e.username, 0) < per_account:
            out.append(e)
            count[e.username] = count.get(e.username, 0) + 1
    return out


def surfaces(device) -> dict:
    """Login surfaces of the profile (harness.surfaces): name -> function(user, password)
    -> bool."""
    from harness import surfaces as registry
    return {s.name: ATTEMPTS[s.kind](device, s) for s in registry.logins(device.profile)
            if s.kind in ATTEMPTS}


def _ssh(device, s):
    from harness.transport import ssh
    return lambda u, pw: ssh.try_password(device.wire, device.profile.address, s.port, u,
                                          pw) == "accepted"


def _rtsp(device, s):
    from harness.probe import rtsp
    return lambda u, pw: rtsp.describe(device, (u, pw))["status"] == 200


ATTEMPTS = {   # one per surface kind: (device, surface) -> attempt(user, password) -> bool
    "ssh": _ssh,
    "telnet": lambda device, s: lambda u, pw: _console_try(device.telnet(), u, pw),
    "web": lambda device, s: web_attempt(device, s.section),
    "ftp": lambda device, s: lambda u, pw: _ftp_try(device, s.port, u, pw),
    "rtsp": _rtsp,
    "mqtt": lambda device, s: lambda u, pw: _mqtt_try(device, u, pw),
    "serial": lambda device, s: lambda u, pw: _console_try(device.console(), u, pw),
}


def _console_try(console, user, pw) -> bool:
    try:
        # a console that needs no login takes any password: calibration shows it
        outcome = console.login(user, pw)
        if outcome == "unknown":
            raise DeviceError(f"{console.channel}: a prompt after the password, but no "
                              "working shell: cannot tell whether the login was accepted")
        return outcome in ("accepted", "no-login")
    finally:
        console.close()


def web_attempt(device, web):
    """attempt(user, password) -> bool on one web surface (basic, digest or form)."""
    from harness.transport import http
    return lambda user, pw: http.login(device.wire, device.profile.address, web, user, pw)


def _ftp_try(device, port, user, pw) -> bool:
    from harness.transport import ftp
    result = ftp.login(device.wire, device.profile.address, port, user, pw)
    if result is None:
        raise DeviceError(f"ftp:{port}: connection refused")
    return result["accepted"]


def _mqtt_try(device, user, pw) -> bool:
    from harness.transport.mqtt import MQTTSession
    m = device.profile.mqtt
    s = MQTTSession(device.wire, m.host, m.port, m.tls, user, pw)
    try:
        return s.accepted
    finally:
        s.close()


def _try_surface(name, attempt, cands) -> SurfaceResult:
    r = SurfaceResult(name)
    try:
        if attempt("admin", "hx-wrong-" + secrets.token_hex(6)):
            r.calibrated = "accepts a wrong password: this surface authenticates nothing"
            return r
        r.calibrated = "a wrong password is refused"
    except DeviceError as exc:
        r.stopped = f"calibration failed: {exc}"
        return r
    for e in cands:
        try:
            ok = attempt(e.username, e.password)
        except TransportTimeout as exc:
            r.stopped = f"lockout suspected after {len(r.tried)} tries: {exc}"
            break
        except DeviceError as exc:
            r.stopped = f"stopped after {len(r.tried)} tries: {exc}"
            break
        r.tried.append(f"{e.username} ({e.source})")
        if ok:
            r.hit = {"username": e.username, "password": e.password, "source": e.source}
            break
    return r


def try_known(device, entries, per_account: int, only: set[str] | None = None,
              parallel: int = 4) -> list[SurfaceResult]:
    """Each surface in its own thread (they are independent services); the tries on one
    surface stay sequential, so a device sees at most one attempt per service at a time."""
    from concurrent.futures import ThreadPoolExecutor
    cands = candidates(device.profile, entries, per_account)
    chosen = {n: f for n, f in surfaces(device).items()
              if not only or n.split(":")[0] in only}
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(chosen) or 1))) as pool:
        futures = [pool.submit(_try_surface, n, f, cands) for n, f in chosen.items()]
        return [f.result() for f in futures]

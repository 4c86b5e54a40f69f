"""Known default and weak credentials on every login surface the profile declares.

Success needs positive evidence: a command's output (SSH, telnet, serial), an admin page
that answers 2xx after the login in the declared style (harness.weblogin), a 200/230/
CONNACK-success/SNMP answer (RTSP, FTP, MQTT, SNMP). Each surface is calibrated with one
deliberately wrong password (accepted: it authenticates nothing, TC-AUTH-01's finding) and
then given its positive control: the lab's own credential must log in with the same
procedure, or a refusal of the known ones proves nothing and the surface is not tested.
Bounded: at most N passwords per account, stop at the first hit; a throttling device is
waited out within a budget (harness.probe.patience), a device that is gone is an error.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from harness import yamlsrc
from harness.errors import DeviceError

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
    return yamlsrc.validated(_List, path).credentials


@dataclass
class SurfaceResult:
    surface: str
    tried: list[str] = field(default_factory=list)        # "user (source)", never passwords
    hit: dict | None = None
    calibrated: str = ""
    control: str = ""          # the positive control: the lab's credential logs in, or why not
    untested: str = ""         # why the surface's online part is not tested (NOT_RUN)
    stopped: str = ""          # why the list was not finished (INCONCLUSIVE)
    throttle: dict | None = None

    def to_dict(self):
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


ONLINE_ACCOUNTS = ("admin", "root")


def online_accounts(profile) -> set[str]:
    """Accounts worth trying on the device: the lab's, the vendor's documented ones and the
    two near-universal administrators. The rest of the list is checked offline only."""
    from harness import surfaces
    users = {c.username for c in profile.default_credentials} | set(ONLINE_ACCOUNTS)
    return users | {s.username for s in surfaces.of(profile) if s.username}


def accounts_for(profile, s) -> set[str]:
    """A community-string surface tries communities only; the others never do."""
    from harness.surfaces.snmp import COMMUNITY
    if s.username == COMMUNITY:
        return {COMMUNITY}
    return online_accounts(profile) - {COMMUNITY}


def candidates(profile, entries, per_account: int, accounts: set[str] | None = None) \
        -> list[_Entry]:
    """Vendor-documented defaults first, then the list for the online accounts, capped per
    account."""
    out, count = [], {}
    accounts = online_accounts(profile) if accounts is None else accounts
    vendor = [_Entry(username=c.username, password=c.password, source=c.source)
              for c in profile.default_credentials if c.username in accounts]
    entries = [e for e in entries if e.username in accounts]
    for e in vendor + list(entries):
        if any((e.username, e.password) == (o.username, o.password) for o in out):
            continue
        if e in vendor or count.get(e.username, 0) < per_account:
            out.append(e)
            count[e.username] = count.get(e.username, 0) + 1
    return out


def surfaces(device) -> dict:
    """Login surfaces of the profile with a login procedure: name -> attempt(user, password)
    -> bool (harness.surfaces)."""
    from harness import surfaces as registry
    return {s.name: registry.kind(s).attempt(device, s) for s in registry.logins(device.profile)
            if registry.kind(s).attempt}


def _try_surface(device, s, cands, budget: float) -> SurfaceResult:
    """Calibrate (a wrong password is refused), prove the procedure (the lab's own
    credential logs in: the positive control), then the candidates; a throttling device is
    waited out within `budget` seconds."""
    from harness import surfaces as registry
    from harness.probe.patience import Patience
    k, r = registry.kind(s), SurfaceResult(s.name)
    attempt, patience = k.attempt(device, s), Patience(budget)
    user = s.username or "admin"
    try:
        try:
            if patience.call(attempt, user, "hx-wrong-" + secrets.token_hex(6)):
                r.calibrated = "accepts a wrong password: this surface authenticates nothing"
                return r
            r.calibrated = "a wrong password is refused"
            control = registry.control(device, s) if not s.has_credentials else None
            if control is None:
                ok = patience.call(attempt, *s.lab_credential())
                control = {"passed": ok, "why": "" if ok else _refused(s)}
            r.control = "the lab's credential logs in with the same procedure" \
                if control["passed"] else control["why"]
            if not control["passed"]:
                r.untested = control["why"]
        except DeviceError as exc:
            r.stopped = _stop(device, f"calibration failed: {exc}")
            return r
        for e in cands:
            try:
                ok = patience.call(attempt, e.username, e.password)
            except DeviceError as exc:
                r.stopped = _stop(device, f"stopped after {len(r.tried)} tries: {exc}")
                break
            r.tried.append(f"{e.username} ({e.source})")
            if ok:
                r.hit = {"username": e.username, "password": e.password, "source": e.source}
                break
        if k.silent_refusal(s) and not r.untested and not r.stopped and not r.hit:
            # the agent answers a wrong secret with silence: the silences were refusals only
            # if the lab's secret still answers now
            try:
                again = patience.call(attempt, *s.lab_credential())
            except DeviceError as exc:
                again = False
                r.stopped = _stop(device, f"the control after the tries failed: {exc}")
            if not again and not r.stopped:
                r.stopped = ("the lab's credential no longer answers after the tries: the "
                             "silences cannot be read as refusals")
    finally:
        r.throttle = patience.to_dict() if patience.events else None
    return r


def _refused(s) -> str:
    how = f" (auth: {s.section.auth})" if s.kind == "web" else ""
    return (f"{s.name}: the lab's own credential was refused by the declared login "
            f"procedure{how}: the procedure cannot be shown to work on this unit")


def _stop(device, why: str) -> str:
    """Why a surface stopped; a device that answers nowhere any more is gone (ERROR)."""
    if not device.check_alive():
        raise DeviceError(f"{why}; the device no longer answers on any port")
    return why


def try_known(device, entries, per_account: int, only: set[str] | None = None,
              parallel: int = 4, budget: float = 90.0) -> list[SurfaceResult]:
    """Each surface in its own thread (they are independent services); the tries on one
    surface stay sequential, so a device sees at most one attempt per service at a time."""
    from concurrent.futures import ThreadPoolExecutor
    from harness import surfaces as registry
    chosen = [s for s in registry.logins(device.profile)
              if not only or s.kind in only or s.name.split(":")[0] in only]
    out = [SurfaceResult(s.name, untested=registry.control(device, s)["why"])
           for s in chosen if not registry.kind(s).attempt]
    chosen = [s for s in chosen if registry.kind(s).attempt]
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(chosen) or 1))) as pool:
        futures = [pool.submit(_try_surface, device, s,
                               candidates(device.profile, entries, per_account,
                                          accounts_for(device.profile, s)), budget)
                   for s in chosen]
        return [f.result() for f in futures] + out


def seen_not_in_profile(profile, scans) -> list[str]:
    """Login services the port scan found that no profile surface covers: the harness saw
    them but has no credential to prove a login there, so it cannot test them."""
    from harness import surfaces as registry
    covered = {(s.kind, s.port) for s in registry.of(profile)}
    out = []
    for scan in scans:
        for proto, ports in (("tcp", scan.tcp_open), ("udp", scan.udp_open)):
            for port, service in sorted(ports.items()):
                k = registry.by_service(service)
                if k and k.attempt and (k.name, port) not in covered:
                    out.append(f"{service} on {scan.address} {proto}/{port}: not in the "
                               "profile, so no lab credential proves a login there "
                               f"(add a '{k.name}' section with the lab's account)")
    return out

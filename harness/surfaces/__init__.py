"""Every login and command surface of a device, from one registry of surface kinds.

A surface kind is one module in this package that registers a `Kind`: how it finds its
surfaces in the profile, and what it offers the probes — a login procedure (the credential
tests, brute force, the positive control), a check without credentials (TC-AUTH-01), what
crosses the network in the clear (TC-COMM-01). Applicability, the credential tests, brute
force, the unauthenticated-access and exposure probes and the scope check read this one
registry; a new kind is one module here plus its tests and emulation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Surface:
    name: str                    # "ssh:22", "http-basic:443", "serial", "snmp-v2c:161"
    kind: str                    # a key of KINDS
    port: int | None = None
    username: str | None = None  # the lab's account on it, when the profile names one
    password: object = None      # SecretStr | None: the lab's password for that account
    section: object = None       # the profile section it comes from
    shell: bool = False          # a command shell once logged in
    banner: bool = False         # speaks first, before any credential
    login: bool = True           # takes a user name and password
    host: str | None = None      # where it listens when not the unit's address (a broker)
    proto: str = "tcp"

    @property
    def has_credentials(self) -> bool:
        return bool(self.username and self.password and self.password.get_secret_value())

    def lab_credential(self) -> tuple[str, str] | None:
        return (self.username, self.password.get_secret_value()) if self.has_credentials \
            else None


@dataclass(frozen=True)
class Kind:
    """What one surface kind offers. Every function takes (device, surface)."""
    name: str
    build: Callable                       # profile -> list[Surface]
    attempt: Callable | None = None       # -> (user, password) -> bool (raises DeviceError)
    unauthenticated: Callable | None = None   # -> list[dict]: {surface, open, ...}
    cleartext: Callable | None = None     # -> dict | None: {surface, finding|None, ...}
    # a network password login for TC-BRUTE-01: True, False, or (device, surface) -> the
    # reason it is not the unit's own (None: it is)
    brute: bool | Callable = False
    silent_refusal: Callable = lambda s: False    # a refused credential gets no answer
    services: tuple[str, ...] = ()        # nmap service names this kind speaks
    undeclared: Callable | None = None    # (device, port) -> list[dict]: the no-credential
    #                                       check of a service seen but not in the profile
    targets: Callable = field(default=lambda profile: [])   # extra hosts for the scope check


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    if kind.name in KINDS:
        raise ValueError(f"surface kind {kind.name} registered twice")
    KINDS[kind.name] = kind
    return kind


def of(profile) -> list[Surface]:
    return [s for k in KINDS.values() for s in k.build(profile)]


def kind(s: Surface) -> Kind:
    return KINDS[s.kind]


def logins(profile) -> list[Surface]:
    return [s for s in of(profile) if s.login]


def shells(profile) -> list[Surface]:
    """Surfaces that give a command shell and for which the lab has credentials."""
    return [s for s in of(profile) if s.shell and (s.password or _key(s))]


def targets(profile) -> list[str]:
    """Every host the profile's surfaces make the harness touch besides the unit itself."""
    return [t for k in KINDS.values() for t in k.targets(profile)]


def by_service(name: str) -> Kind | None:
    """The kind that speaks an nmap service name (ssh, telnet, ftp, snmp, ...)."""
    return next((k for k in KINDS.values() if name in k.services), None)


def brute_exclusion(device, s: Surface) -> str | None:
    """None when TC-BRUTE-01 covers the surface, else why not."""
    b = kind(s).brute
    if callable(b):
        return b(device, s)
    return None if b else f"{s.name}: not a network password login"


def control(device, s: Surface) -> dict:
    """The positive control: the same login procedure succeeds with the lab's own
    credential on this unit. Without it a refusal proves nothing."""
    from harness.errors import DeviceError
    k = kind(s)
    if not k.attempt:
        return {"passed": False, "why": f"{s.name}: the harness has no login procedure for "
                "this kind"}
    if not s.has_credentials:
        return {"passed": False, "why": f"{s.name}: the lab gave no credential, so the login "
                "procedure cannot be shown to succeed"}
    try:
        ok = k.attempt(device, s)(*s.lab_credential())
    except DeviceError as exc:
        return {"passed": False, "why": f"{s.name}: the lab's own login failed: {exc}"}
    return {"passed": bool(ok), "why": "" if ok else (
        f"{s.name}: the lab's own credential was refused by the declared login procedure"
        + (f" (auth: {s.section.auth})" if s.kind == "web" else "")
        + ": the procedure cannot be shown to work on this unit")}


def _key(s: Surface) -> bool:
    return bool(getattr(s.section, "key_file", None))


# the kinds, in the order their surfaces are listed
from harness.surfaces import (ssh, telnet, web, ftp, rtsp, mqtt, snmp, tftp, serial,  # noqa: E402,F401
                              command)

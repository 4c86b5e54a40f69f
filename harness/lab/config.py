"""Lab configuration (lab_config/*.yaml)."""
from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness import yamlsrc
from harness.errors import InputError
from harness.lab.scope import Scope

DEFAULT_LAB = Path(__file__).resolve().parents[2] / "lab_config" / "emulated.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Identity(_Strict):
    name: str
    address: str = Field("", description="the laboratory's postal address (test reports name it)")
    accreditation_id: str = ""
    operator: str = ""
    method_validation: str | None = Field(None, description="run.json of the run that "
                                          "validated the method (the detection matrix), "
                                          "relative to this file: reports cite it by hash")


class ScopeConfig(_Strict):
    allow: list[str] = Field(min_length=1)
    interfaces: list[str] = Field(default_factory=list, description="the lab's own links: "
                                  "an IPv6 link-local address may name one as its zone "
                                  "(fe80::1%eth1), units' IPv6 addresses are looked for "
                                  "there, and this host's addresses on them may lie in allow")

    @field_validator("allow")
    @classmethod
    def _cidrs(cls, v):
        for item in v:
            try:
                net = ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"'{item}' is not an address or CIDR") from None
            from harness.lab.scope import entry_problem
            why = entry_problem(net, {})        # this host's own addresses: see below
            if why:
                raise ValueError(f"'{item}' is not a device network: {why}")
        return v

    @model_validator(mode="after")
    def _no_own_address_in_scope(self):
        """A range holding one of this machine's own addresses (other than those on the
        lab's own link, `interfaces`) would let a typo reach this host's services."""
        import ipaddress
        from harness.lab.scope import entry_problem, own_addresses
        own = own_addresses()
        exempt = {a for a, iface in own.items() if iface in self.interfaces}
        for item in self.allow:
            why = entry_problem(ipaddress.ip_network(item, strict=False), own, exempt)
            if why:
                raise ValueError(f"'{item}' is not a device network: {why}; if that is this "
                                 "host's address on the lab's link, name the link "
                                 "(scope.interfaces)")
        return self


class RateLimits(_Strict):
    credential_tries_per_account: int = Field(3, ge=1, le=20)
    brute_force_attempts: int = Field(12, ge=3, le=200)
    backoff_budget: float = Field(90.0, ge=0, le=900, description="seconds a probe waits out "
                                  "a throttling device on one surface (growing pauses) "
                                  "before it gives up on that surface")
    tls_connections: int = Field(2, ge=1, le=8)
    scan_max_rate: int = Field(300, ge=1, le=100000, description="packets per second")


class Timeouts(_Strict):
    connect: float = Field(5.0, gt=0, le=120)
    command: float = Field(20.0, gt=0, le=600)
    scan: float = Field(240.0, gt=0, le=3600)
    test_case: float = Field(900.0, gt=0, le=7200, description="the watchdog: a test case "
                             "still running after this long is stopped (ERROR)")


class Vulnerabilities(_Strict):
    """The local vulnerability database (`harness vulndb import`) and when it fails a device."""
    database: str = Field("vulndb", description="directory of the imported feeds, relative "
                          "to this lab config")
    fail_cvss: float | None = Field(None, ge=0, le=10, description="also FAIL on a known "
                                    "(not known-exploited) vulnerability with a CVSS base "
                                    "score at or above this; unset: listed, not failed")


class UnitClaims(_Strict):
    """How runs on this host keep off each other's units (harness.runner.claims)."""
    directory: str = Field("/run/lock/harness", description="where each run claims the units "
                           "it tests (a lock file per address and serial port; relative to "
                           "this file): every lab config of the host should name the same")
    wait: float = Field(0.0, ge=0, le=7200, description="seconds a run waits for a unit "
                        "another run is testing before that unit's test cases are ERROR")


class Labgrid(_Strict):
    """The lab's labgrid coordinator: units whose profile names a place get their serial
    console and power switch from it (harness.lab.labgrid)."""
    coordinator: str = Field(description="HOST:PORT of the labgrid coordinator (gRPC); the "
                             "host must be in the scope allowlist")
    client: str | None = Field(None, description="path of labgrid-client; default: the "
                               "set-up's .venv-labgrid, else PATH")
    acquire_timeout: float = Field(120.0, ge=0, le=7200, description="seconds to wait for a "
                                   "place another run holds before its unit is ERROR")

    @field_validator("coordinator")
    @classmethod
    def _hostport(cls, v):
        host, sep, port = v.rpartition(":")
        try:
            ipaddress.ip_address(host.strip("[]"))
            ok = sep and 0 < int(port) < 65536
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"'{v}' is not ADDRESS:PORT (an IP address, as the scope "
                             "allowlist checks it)")
        return v


PLACEHOLDERS = {"device", "power", "link", "python", "target", "to", "state", "boot_medium",
                "file"}


class Actions(_Strict):
    """Shell command templates; {device}, {power} and {link} come from the profile;
    redirect gets {target} (HOST:PORT the device connects to) and {to} (HOST:PORT of the
    harness's stand-in server)."""
    power_cycle: str | None = None
    link_down: str | None = None
    link_up: str | None = None
    link_degrade: str | None = None
    redirect: str | None = None
    redirect_clear: str | None = None
    local_control: str | None = Field(None, description="operate the appliance locally (its "
                                      "button or panel) to {state} (on or off): a relay on the "
                                      "button, a robot finger, the lab's own script")
    write_boot_image: str | None = Field(None, description="write the image file {file} to "
                                         "the unit's boot medium {boot_medium} (an SD mux, a "
                                         "flash programmer, a QEMU unit's disk); the unit "
                                         "boots it at its next power-on")
    restore_firmware: str | None = Field(None, description="put the unit back on the "
                                         "firmware it ran before the update tests, through "
                                         "the vendor's recovery path (a TFTP recovery flash, "
                                         "a flash programmer, the emulated unit's recovery "
                                         "mode); run after TC-UPD-02 on a kind without a way "
                                         "back of its own, then the unit must be ready again")

    @field_validator("*")
    @classmethod
    def _placeholders(cls, v):
        import string
        if v is None:
            return v
        try:
            fields = [(f, conv, spec) for _, f, spec, conv in string.Formatter().parse(v)
                      if f is not None]
        except ValueError as exc:
            raise ValueError(f"not a valid command template: {exc}") from None
        for f, conv, spec in fields:
            if conv or spec:
                raise ValueError(f"placeholder {{{f}{'!' + conv if conv else ''}"
                                 f"{':' + spec if spec else ''}}}: only plain {{name}} is "
                                 "allowed (values are passed as quoted variables)")
        names = {f for f, _, _ in fields}
        unknown = names - PLACEHOLDERS
        if unknown:
            raise ValueError(f"unknown placeholder {{{sorted(unknown)[0]}}}; known: "
                             + ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS)))
        return v


class LabConfig(_Strict):
    lab: Identity
    scope: ScopeConfig
    report_access: Literal["owner", "group"] = Field("owner", description="who may read a "
                                                     "run's directory: its owner (0700) or "
                                                     "also its group (0750)")
    device_workers: int = Field(0, ge=0, le=64, description="devices tested at once, each "
                                "by its own worker process (its probes one at a time); 0: "
                                "twice the host's CPU count, at most the number of devices")
    rate_limits: RateLimits = RateLimits()
    timeouts: Timeouts = Timeouts()
    actions: Actions = Actions()
    vulnerabilities: Vulnerabilities = Vulnerabilities()
    labgrid: Labgrid | None = None
    unit_claims: UnitClaims = UnitClaims()
    signing_key: str | None = Field(None, description="the lab's Ed25519 private key (PEM) "
                                    "that signs evidence bundles, relative to this file "
                                    "(harness keygen PATH makes one)")
    trusted_keys: list[str] = Field(default_factory=list, description="fingerprints "
                                    "(SHA256:...) of the keys whose evidence bundles "
                                    "`harness verify --lab` accepts")
    harness_address: str | None = Field(None, description="this host's address on the device "
                                        "network, where the harness plays servers")

    @field_validator("harness_address")
    @classmethod
    def _harness_address(cls, v):
        if v is not None:
            try:
                ip = ipaddress.ip_address(v)
            except ValueError:
                raise ValueError(f"'{v}' is not an IP address") from None
            if ip.is_unspecified or ip.is_multicast:
                raise ValueError(f"'{v}' would listen on every interface (or none): give "
                                 "this host's address on the device network")
        return v

    @field_validator("labgrid")
    @classmethod
    def _coordinator_in_scope(cls, v, info):
        scope = info.data.get("scope")
        if v is not None and scope is not None:
            from harness.errors import ScopeError
            try:
                Scope(scope.allow, scope.interfaces).check(
                    v.coordinator.rpartition(":")[0].strip("[]"))
            except ScopeError as exc:
                raise ValueError(f"coordinator: {exc}") from None
        return v

    def vulndb_dir(self, lab_path: str | Path) -> Path:
        return Path(lab_path).resolve().parent / self.vulnerabilities.database

    def scope_checker(self) -> Scope:
        return Scope(self.scope.allow, self.scope.interfaces)


def load_lab(path: str | Path | None = None) -> tuple[LabConfig, str]:
    if not path and not DEFAULT_LAB.exists():
        raise InputError("no lab config given, and the built-in emulated lab's is not here "
                         "(an installed package): name yours with --lab", None, None, "--lab")
    path = Path(path) if path else DEFAULT_LAB
    return yamlsrc.validated(LabConfig, path, "a lab config"), str(path)

"""Pydantic models for device profiles. Strict: unknown keys are errors."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic.functional_validators import BeforeValidator
from pydantic_core import PydanticCustomError

from harness.profile.access import (FTP, LABGRID, MQTT, RTSP, SNMP, SSH, TFTP, Serial, Telnet,
                                    Web, ip as _ip)
from harness.profile.base import Port, Strict
from harness.profile.ixit import IcsEntry, IcsKey, Ixit, Telemetry
from harness.profile.remote_control import RemoteControl

CATEGORIES = ("router", "camera", "appliance", "hub", "healthcare", "sensor", "speaker",
              "lock", "printer", "other")




class DeclaredService(Strict):
    port: Port
    proto: Literal["tcp", "udp"] = "tcp"
    service: str
    purpose: str = ""


class KnownCredential(Strict):
    username: str
    password: str
    source: str = Field(description="where this default is documented")


class Declaration(Strict):
    """A vendor statement evaluated from documents (never a PASS, only DECLARED)."""
    statement: str = ""
    document: str = ""
    url: str = ""
    contact: str = ""
    timelines: str = ""
    end_date: str = ""
    applies: bool = Field(True, description="false: the vendor states the provision does not "
                          "apply to this product (a justification is required)")
    justification: str = ""


NAMED_DECLARATIONS = ("vulnerability_disclosure", "support_period", "update_procedure",
                      "secure_storage", "data_deletion", "personal_data", "telemetry",
                      "installation")


def _declaration_key(key: str) -> str:
    """A named declaration, or the id of a catalog requirement (e.g. ETSI-5.6-9)."""
    if key in NAMED_DECLARATIONS:
        return key
    from harness.catalog import known_requirement_ids
    if key in known_requirement_ids():
        return key
    raise PydanticCustomError("declaration", "'{k}' is neither a named declaration ({named}) "
                              "nor a requirement id from the catalogs",
                              {"k": key, "named": ", ".join(NAMED_DECLARATIONS)})


DeclarationKey = Annotated[str, BeforeValidator(_declaration_key)]


class Prompts(Strict):
    login: str = "login:"
    password: str = "Password:"
    shell: str = r"[#$] ?$"


class PasswordChange(Strict):
    """How the lab changes the login password over the device's own interface."""
    via: Literal["shell"] = "shell"
    command: str = Field(description="shell command; {user} and {new} are substituted")


class UpdateInfo(Strict):
    """The device's update channel: how an image is uploaded and the version read back
    (one module per kind: harness/update/)."""
    kind: Literal["json", "web", "swupdate", "hawkbit", "rauc", "mender", "shell"] = Field(
        "json", description=
        "json: the emulated units' own JSON image POSTed to upload_path, version from JSON at "
        "version_path; web: the vendor's image (its own format) uploaded in the web UI as "
        "the file field form_field of a form POSTed to upload_path, behind the UI's login (the "
        "web surface on port, else the first), version from the page at version_path with "
        "version_regex; swupdate: SWUpdate's web server (a .swu to /upload, its outcome from "
        "/ws), version read over the unit's shell with version_command; hawkbit: the unit "
        "pulls from its update server (hawkBit DDI, e.g. SWUpdate's suricatta): the harness "
        "stands in for `server`, version read over the shell with version_command; rauc: "
        "RAUC on the unit: each bundle copied over SSH to bundle_dir and installed with "
        "`rauc install`, the new slot booted by the lab's power_cycle, version read over the "
        "shell with version_command; mender: the Mender client on the unit: each artifact "
        "copied over SSH to bundle_dir, installed with `mender install` and committed, "
        "version read over the shell with version_command; shell: the vendor's own upgrade "
        "command on the unit (e.g. OpenWrt's sysupgrade): each image copied over SSH to "
        "bundle_dir and installed with install_command, the new firmware started by the "
        "lab's power_cycle, version read over the shell with version_command")
    version_path: str = "/api/firmware"
    upload_path: str = "/api/update"
    port: Port = 8443
    tls: bool = True
    version_command: str | None = Field(None, description="swupdate: a shell command whose "
                                        "output holds the running version")
    version_regex: str = Field(r"(\d+(?:\.\d+)+)", description="its group 1 is the version "
                               "in version_command's output (web: in the page at version_path)")
    form_field: str = Field("firmware", pattern=r"^[A-Za-z0-9_.\[\]-]{1,64}$", description=
                            "web: the upload form's file field")
    signature: Literal["rsa2048-sha256", "ed25519", "fit"] | None = Field(None, description=
        "web, shell: the image's signature as the vendor's IXIT describes it: a trailing "
        "signature over every byte before it (RSA-2048 PKCS#1 v1.5 with SHA-256: 256 bytes; "
        "Ed25519: 64), or fit: a U-Boot FIT image whose configurations are signed (re-signed "
        "with mkimage from u-boot-tools). With it the harness also derives an unsigned image "
        "and one signed by a key of its own; without, only a tampered one (bytes changed "
        "inside the image)")
    install_command: str | None = Field(None, pattern=r"\{image\}", description="shell: the "
                                        "unit's upgrade command; {image} is the image's path "
                                        "on the unit")
    log_command: str | None = Field(None, description="hawkbit: a shell command on the unit "
                                    "printing its update framework's log (`logread -e "
                                    "swupdate`, `journalctl -u swupdate`), read when a failed "
                                    "install named no check on the image in what it reported "
                                    "to the server")
    apply_within: float = Field(90.0, gt=0, le=1800, description="seconds an install may "
                                "take before its outcome is reported")
    server: str | None = Field(None, pattern=r"^https?://\d{1,3}(\.\d{1,3}){3}:\d{1,5}$",
                               description="hawkbit: the update server the unit polls, "
                               "http(s)://IPv4:PORT (the lab's redirect sends it to the harness)")
    server_cert: str | None = Field(None, description="hawkbit over https: the certificate "
                                    "chain and key (PEM) the vendor hands the lab for its "
                                    "update server, which the unit trusts; relative to the file")
    poll_within: float = Field(60.0, gt=0, le=3600, description="hawkbit: seconds within "
                               "which the unit polls its update server")
    bundle_dir: str = Field("/tmp", pattern=r"^/[A-Za-z0-9._/+-]*$", description=
                            "rauc, mender, shell: the directory on the unit where a bundle "
                            "or image is put for `rauc install`, `mender install` or "
                            "install_command (one that RAUC's service can read)")

    @property
    def serves_port(self) -> bool:
        """The unit takes its images on `port` (a unit that pulls, or installs over its
        shell, serves no update port)."""
        return self.kind in ("json", "web", "swupdate")

    @model_validator(mode="after")
    def _kind(self):
        if self.kind in ("swupdate", "hawkbit", "rauc", "mender", "shell") and \
                not self.version_command:
            raise PydanticCustomError("update", "update.kind {k} needs version_command (how "
                                      "the running version is read over the shell)",
                                      {"k": self.kind})
        if self.kind == "shell" and not self.install_command:
            raise PydanticCustomError("update", "update.kind shell needs install_command (the "
                                      "unit's upgrade command, {image} for the image's path)",
                                      {"image": "{image}"})
        if self.kind == "hawkbit" and not self.server:
            raise PydanticCustomError("update", "update.kind hawkbit needs server (the update "
                                      "server the unit polls, http(s)://IPv4:PORT)")
        return self


class FactoryReset(Strict):
    command: str = Field(description="shell command that starts a factory reset")
    user_data_paths: list[str] = Field(default_factory=list,
                                       description="files that must be gone or back to default")


class ComparisonUnit(Strict):
    """Another unit of the model, as the vendor hands it over for the uniqueness tests when
    the lab has only one unit: digests, never the secrets themselves."""
    name: str
    password_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$",
                                        description="hex SHA-256 of that unit's default password")
    ssh_host_key_sha256: str | None = Field(None, description="as ssh-keygen -l prints it "
                                            "(base64, without 'SHA256:')")
    tls_cert_sha256: list[str] = Field(default_factory=list, description="'sha256:<hex>' of "
                                       "each certificate (DER)")


class DeviceType(Strict):
    """Product facts, shared by every unit of a model."""
    vendor: str
    model: str
    firmware_version: str
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    declared_services: list[DeclaredService] = Field(default_factory=list)
    default_credentials: list[KnownCredential] = Field(default_factory=list)
    declarations: dict[DeclarationKey, Declaration] = Field(default_factory=dict)
    ixit: Ixit = Field(Ixit(), description="the vendor's IXIT answers the conceptual test "
                       "units of ETSI TS 103 701 judge (harness/profile/ixit.py)")
    ics: dict[IcsKey, IcsEntry] = Field(default_factory=dict, validate_default=True,
                                        description="the vendor's ICS per EN 303 645 "
                                        "provision (`harness ics template` writes the pro "
                                        "forma); a provision left out is owed")
    prompts: Prompts = Prompts()
    password_change: PasswordChange | None = None
    update: UpdateInfo | None = None
    factory_reset: FactoryReset | None = None
    secret_paths: list[str] = Field(default_factory=list,
                                    description="device files that hold credentials or keys")
    remote_operation: bool = False
    remote_control: RemoteControl | None = None
    telemetry: Telemetry | None = Field(None, description="what the product sends as "
                                        "telemetry (absent: owed, and not tested)")
    sbom: str | None = Field(None, description="the vendor's SBOM (CycloneDX or SPDX JSON), "
                             "relative to the file that names it; read by TC-VULN-01")

    @field_validator("ics")
    @classmethod
    def _one_source(cls, ics, info):
        """One answer per provision: a declaration that an EN 303 645 provision does not
        apply is the ICS's not_applicable (added to it); the two must not disagree."""
        out = dict(ics)
        for key, decl in (info.data.get("declarations") or {}).items():
            if not key.startswith("ETSI-") or decl.applies:
                continue
            have = out.get(key)
            if have is None and decl.justification:    # none: its declaration check says so
                out[key] = IcsEntry(status="not_applicable", justification=decl.justification)
            elif have is not None and have.status != "not_applicable":
                raise PydanticCustomError("ics", "ics.{k} says {s}, but declarations.{k} says "
                                          "the provision does not apply: give one answer",
                                          {"k": key, "s": have.status})
        return out
    firmware_image: str | None = Field(None, description="the firmware image the unit runs "
                                       "(as the vendor ships it, or dumped from the unit), "
                                       "relative to the file that names it: its evidence "
                                       "joins the test cases it bears on (harness firmware)")
    comparison_units: list[ComparisonUnit] = Field(default_factory=list, description="other "
                                                   "units' digests for the uniqueness tests")
    has_ipv6: bool | None = Field(None, description="false: the vendor states the product "
                                  "has no IPv6; otherwise the attack-surface tests need the "
                                  "unit's address6, or they say the IPv6 side was not tested")
    has_serial_console: bool | None = Field(None, description="false: the vendor states the "
                                            "product has no serial/debug console (the "
                                            "console tests are then not applicable)")
    boot_time: float = Field(120.0, gt=0, le=1800, description="seconds from power-on until "
                             "the device's services answer again: after a power cycle or a "
                             "link restored, the harness waits at most this long for them")


class UpdateImages(Strict):
    """Vendor-supplied images for the update tests: a valid newer one and a signed older one."""
    valid: str | None = None
    older: str | None = None


class TLSClient(Strict):
    """An outbound TLS connection the device makes (cloud broker, update server). The
    device-as-TLS-client test redirects it to the harness, which presents a certificate
    from an untrusted CA."""
    host: str = Field(description="address the device connects to (as the lab sees it)")
    port: Port
    purpose: str = ""
    trigger: Literal["power_cycle", "link_down", "link_up", "link_degrade"] | None = Field(
        "power_cycle", description="lab action that makes the device connect again; null: "
        "it reconnects by itself")
    wait: float = Field(60.0, gt=0, le=600, description="seconds to wait for the connection")


class LabWiring(Strict):
    power: str | None = None
    link: str | None = None
    boot_medium: str | None = Field(None, description="the unit's boot medium as the lab's "
                                    "write_boot_image action names it; none: the lab cannot "
                                    "write it, and the secure-boot test is not run")
    labgrid_place: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
                                      description="the unit's labgrid place: its serial "
                                      "console (serial.port: labgrid) and power switch come "
                                      "from it (the lab config names the coordinator)")


class DeviceProfile(DeviceType):
    """A unit in the lab: the type's facts plus its wiring."""
    extends: str | None = None
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
    serial_number: str | None = None
    mac: str | None = None
    address: str | None = None
    address6: str | None = None
    ssh: SSH | None = None
    telnet: Telnet | None = None
    web: list[Web] = Field(default_factory=list)
    mqtt: MQTT | None = None
    serial: Serial | None = None
    ftp: FTP | None = None
    rtsp: RTSP | None = None
    snmp: SNMP | None = None
    tftp: TFTP | None = None
    lab: LabWiring = LabWiring()
    tls_clients: list[TLSClient] | None = Field(None, description="outbound TLS connections; "
                                                "[]: the device makes none; absent: unknown "
                                                "(the device-as-TLS-client test is NOT_RUN)")
    update_images: UpdateImages = UpdateImages()

    @field_validator("address", "address6")
    @classmethod
    def _addr(cls, v):
        return None if v is None else _ip(v)

    @model_validator(mode="after")
    def _reachable(self):
        network = [self.ssh, self.telnet, self.web, self.ftp, self.rtsp, self.snmp, self.tftp]
        if any(network) and not self.address:
            raise PydanticCustomError("address", "network services are configured but "
                                      "'address' is missing")
        if not self.address and not self.serial:
            raise PydanticCustomError("reach", "a device needs an 'address' or a 'serial' console")
        from_place = bool(self.serial and self.serial.port == LABGRID)
        if from_place and not self.lab.labgrid_place:
            raise PydanticCustomError("labgrid", "serial.port is 'labgrid' but lab.labgrid_place "
                                      "names no place")
        if self.lab.labgrid_place and self.serial and not from_place:
            raise PydanticCustomError("labgrid", "lab.labgrid_place and serial.port both name "
                                      "a console: with a place, write serial.port: labgrid")
        return self

    # ---- facts derived from the profile, used by applicability checks ----
    def secrets(self) -> list[str]:
        """Every secret value in the profile, for redaction."""
        out = []
        for section in (self.ssh, self.telnet, self.mqtt, self.serial, self.ftp, self.rtsp,
                        self.snmp, *self.web):
            pw = getattr(section, "password", None)
            if pw is not None and pw.get_secret_value():
                out.append(pw.get_secret_value())
        return out

    def targets(self) -> list[str]:
        """Every network address this profile would make the harness touch."""
        from harness import surfaces
        return [a for a in (self.address, self.address6) if a] + surfaces.targets(self)

    def declared_ports(self, proto: str = "tcp") -> set[int]:
        return {s.port for s in self.declared_services if s.proto == proto}

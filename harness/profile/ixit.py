"""The vendor's IXIT (implementation extra information for testing, ETSI TS 103 701): the
answers the conceptual test units judge, as enumerated choices where the criterion allows,
so an answer can be judged on its content and not only for being there. Named after the
TS's IXIT tables; the other facts the TS asks for (services, interfaces, the update
channel) are already in the device type. An answer left out is owed, never assumed."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic.functional_validators import BeforeValidator
from pydantic_core import PydanticCustomError

from harness.profile.base import Strict


class AuthMech(Strict):
    """IXIT 1-AuthMech: how the product's passwords are made and protected."""
    password_mechanism: Literal["unique_per_device", "user_defined_at_setup", "same_for_all",
                                "no_passwords"] | None = Field(None, description=
        "the passwords the product ships with: unique to each unit, set by the user before "
        "use, one for every unit, or no password-based login at all")
    password_generation: Literal["random", "keyed_derivation", "derived_from_identifier",
                                 "counter", "public_information"] | None = Field(None,
        description="unique per-unit passwords: drawn at random, derived from an identifier "
        "with a secret key (keyed hash, encryption), derived from an identifier alone (serial, "
        "MAC), incremental, or built from public information (model, SSID)")
    brute_force_protection: Literal["lockout", "growing_delay", "rate_limit", "none"] | None = \
        Field(None, description="what stops guessing over the network")


class UpdMech(Strict):
    """IXIT 7-UpdMech: how an update is checked before it is installed."""
    authenticity: Literal["signature_verified_on_device", "channel_only", "none"] | None = \
        Field(None, description="the unit verifies each image's signature itself; relies on "
              "the channel (TLS to the vendor's server) alone; or nothing is checked")
    trust_relation: Literal["authenticated_server_and_signed_images", "authenticated_server",
                            "signed_images", "none"] | None = Field(None, description=
        "what makes an update delivered over a network trusted")


def _en18031(value):
    """{requirement: {asset or '*': justification}}: the requirement ids of EN 18031-1's
    trees (e.g. AUM-4), each justification said in words."""
    from harness import en18031
    known = en18031.requirement_ids()
    if not isinstance(value, dict):
        return value
    for rid, per_asset in value.items():
        if rid not in known:
            raise PydanticCustomError("en18031", "'{r}' is not an EN 18031-1 requirement id "
                                      "(e.g. AUM-4, SCM-3)", {"r": str(rid)})
        if isinstance(per_asset, dict) and not all(
                isinstance(v, str) and v.strip() for v in per_asset.values()):
            raise PydanticCustomError("en18031", "{r}: each exemption needs its "
                                      "justification", {"r": rid})
    return value


class Ixit(Strict):
    auth_mech: AuthMech = AuthMech()
    upd_mech: UpdMech = UpdMech()
    en18031: Annotated[dict[str, dict[str, str]], BeforeValidator(_en18031)] = Field(
        default_factory=dict, description="EN 18031-1: per requirement (e.g. AUM-4), the "
        "assets it does not apply to (their names as the run's EN 18031-1 view lists them, "
        "'*' for all) and why; the lab judges each justification")


class IcsEntry(Strict):
    """One provision of the ICS (implementation conformance statement, EN 303 645 Annex B):
    whether the product supports it; not supported or not applicable needs a justification."""
    status: Literal["supported", "not_supported", "not_applicable"]
    justification: str = ""

    @model_validator(mode="after")
    def _justified(self):
        if self.status != "supported" and not self.justification.strip():
            raise PydanticCustomError("ics", "{s} needs a justification", {"s": self.status})
        return self


def _provision(key: str) -> str:
    from harness.catalog import catalogs
    known = {r.id for c in catalogs() if c.scheme == "etsi-en-303-645" for r in c.requirements}
    if key in known:
        return key
    raise PydanticCustomError("ics", "'{k}' is not an ETSI EN 303 645 provision id (e.g. "
                              "ETSI-5.3-14)", {"k": key})


IcsKey = Annotated[str, BeforeValidator(_provision)]


class Telemetry(Strict):
    """What the product sends as telemetry (ETSI EN 303 645 6-5; the data TS 103 701 6-5-2c
    compares with what the unit sends), where the lab can observe it: on the unit's MQTT
    channel."""
    sends: bool = Field(True, description="false: the vendor declares the product sends no "
                        "telemetry")
    topic: str | None = Field(None, description="where it publishes it, under "
                              "mqtt.topic_prefix (JSON objects)")
    fields: list[str] = Field(default_factory=list, description="the data items declared "
                              "(the JSON objects' keys)")
    purpose: str = ""
    interval: float = Field(60.0, gt=0, le=600, description="seconds between two messages "
                            "at most (the harness listens twice as long)")

    @model_validator(mode="after")
    def _complete(self):
        if self.sends and not (self.topic and self.fields):
            raise PydanticCustomError("telemetry", "a product that sends telemetry declares "
                                      "its topic and its fields", {})
        return self

"""How an appliance is operated remotely and observed (device type, `remote_control:`)."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from harness.profile.base import Strict


class RemoteCommand(Strict):
    """The command channel: an MQTT topic under the unit's mqtt.topic_prefix."""
    topic: str = Field(description="e.g. heater/set (under mqtt.topic_prefix)")
    on: str = "on"
    off: str = "off"
    state_topic: str | None = Field(None, description="where the device reports its state "
                                    "back (payloads as `on`/`off`), e.g. heater/state; "
                                    "without it, that half of S-mark item 4 is not tested")


class RemoteObserve(Strict):
    """The observation channel, independent of the command channel."""
    via: Literal["serial"] = "serial"
    on: str = Field(description="regex of the console line that reports the load ON")
    off: str = Field(description="regex of the console line that reports the load OFF")

    @field_validator("on", "off")
    @classmethod
    def _regex(cls, v):
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return v


class RemoteControl(Strict):
    """How the appliance is operated remotely and how the lab sees what it does."""
    load: str = Field("load", description="what is switched, e.g. heater")
    command: RemoteCommand
    observe: RemoteObserve
    enable: str | None = Field(None, description="the shell command that enables remote "
                               "operation as the manual describes, after a factory reset "
                               "(e.g. bin/remote-enable); needed to test the shipped state")
    local_priority: float | None = Field(None, gt=0, le=3600, description="the declared "
                                         "arbitration rule: for this many seconds after a "
                                         "local operation, remote commands are refused "
                                         "(local operation wins)")
    safe_state: Literal["off"] = "off"
    safe_within: float = Field(gt=0, le=3600, description="seconds from the loss of the "
                               "link to the safe state, as the vendor declares")
    command_within: float = Field(10.0, gt=0, le=600, description="seconds for a command to "
                                  "show on the observation channel")
    reconnect_per_minute: float = Field(30.0, gt=0, le=6000, description="the most connection "
                                        "attempts a minute the device makes to its cloud "
                                        "while the cloud refuses it (its back-off); more is a "
                                        "reconnect storm")

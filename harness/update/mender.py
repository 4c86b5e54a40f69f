"""Mender on the unit (kind `mender`): the Mender client installs a signed artifact in its
standalone mode. The harness copies each artifact to the unit over SSH (update.bundle_dir)
and runs `mender install` on the unit's shell: its exit status and error lines are Mender's
own outcome. An installed artifact is committed (`mender commit`), after the lab's power
cycle when Mender asks for a reboot (a root file system update boots the other partition);
the version is read back over the shell (update.version_command, e.g. `mender
show-artifact`).

Mender's update modules keep no second copy of the starting firmware: afterwards the lab's
restore_firmware action brings the unit back (harness.update.restore). TC-UPD-01 has
nothing to check: how artifacts reach the unit in the field (the Mender server, a USB
stick) is not part of this kind."""
from __future__ import annotations

import contextlib
import re

from harness.update import (install_over_shell, installs_what_reaches_it, menderart, need_ssh,
                            on_unit, refusal, swupdate)

ARTIFACT = "hx-update.mender"
# Mender asking for a reboot before the commit (not its "does not need reboot")
REBOOT = re.compile(r"(?<!not need )\breboot\b", re.I)


def version(device) -> dict:
    return swupdate.version(device)


class Channel:
    """TC-UPD-02's offers, each an artifact installed over the unit's shell."""

    def __init__(self, device, lifecycle):
        self.device, self.lifecycle = device, lifecycle

    def upload(self, image: bytes) -> dict:
        status, said, r = install_over_shell(self.device, image, ARTIFACT,
                                             "mender install {image}")
        if status != 0:     # Mender's errors, and what a state script said on stderr
            told = [s[:300] for s in said if "level=error" in s or "Collected output" in s]
            return refusal.judged("mender", {**r, "outcome": "install failed",
                                             "errors": told[-4:] or said[-3:]}, said,
                                  "refused")
        if REBOOT.search("\n".join(said)):     # a root file system update: the other slot boots
            self.lifecycle.act("power_cycle", timeout=120)
            r["rebooted"] = True
        c_status, c_out = on_unit(self.device, "mender commit",
                                  self.device.profile.update.apply_within)
        return {**r, "accepted": True, "outcome": "installed",
                "commit": f"exit {c_status}" + ("" if c_status == 0 else
                                                f": {c_out.strip()[-200:]}")}


@contextlib.contextmanager
def channel(device, run_context, lifecycle):
    need_ssh(device, "a Mender artifact")
    yield Channel(device, lifecycle)


def check_channel(device, evidence, run_context, lifecycle) -> None:
    installs_what_reaches_it("mender", "the Mender client", "artifacts")


def variants(valid: bytes, bump, update=None) -> dict[str, bytes | str]:
    return menderart.variants(valid, bump)

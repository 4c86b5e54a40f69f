"""The vendor's own upgrade command on the unit (kind `shell`), as routers without an
update framework ship it (OpenWrt's `sysupgrade IMAGE`, a vendor's `fw-upgrade`): the
harness copies each image to the unit over SSH (update.bundle_dir) and runs
update.install_command there. A non-zero exit is the unit's refusal (its own check of the
image before writing it); after an install the lab's power cycle starts the new firmware,
and only a changed version read back over the shell (update.version_command) counts as
applied: a unit whose bootloader refuses the written image, or falls back from it, still
runs the version it started with.

The images are the vendor's binary format: where the IXIT names its signature
(update.signature) the harness also builds unsigned and foreign-signed ones (a FIT: the
signature nodes; a trailing signature); otherwise only a tampered one. Afterwards the lab's
restore_firmware action (the vendor's recovery path) brings the unit back. TC-UPD-01 has no
channel to check: how images reach the unit in the field is not part of this kind."""
from __future__ import annotations

import contextlib

from harness.update import (install_over_shell, installs_what_reaches_it, need_power_cycle,
                            need_ssh, swupdate, webform)

IMAGE = "hx-update.img"
version = swupdate.version          # update.version_command over the shell


class Channel:
    """TC-UPD-02's offers, each an image installed by the unit's own command."""

    def __init__(self, device, lifecycle):
        self.device, self.lifecycle = device, lifecycle

    def upload(self, image: bytes) -> dict:
        before = version(self.device)["version"]
        status, said, r = install_over_shell(self.device, image, IMAGE,
                                             self.device.profile.update.install_command)
        if status != 0:
            return {**r, "accepted": False, "outcome": "refused by the unit's command",
                    "errors": said[-3:]}
        self.lifecycle.act("power_cycle", timeout=180)      # the written firmware starts
        now = version(self.device)["version"]
        if now is not None and now != before:
            return {**r, "accepted": True, "outcome": f"installed; after the power cycle "
                    f"version {before} -> {now}"}
        return {**r, "accepted": False, "outcome": f"written, but after the power cycle the "
                f"unit runs {now} still: its boot did not take the image"}


@contextlib.contextmanager
def channel(device, run_context, lifecycle):
    need_power_cycle(lifecycle, "the written firmware starts")
    need_ssh(device, "a firmware image")
    yield Channel(device, lifecycle)


def check_channel(device, evidence, run_context, lifecycle) -> None:
    installs_what_reaches_it("shell", "the unit's upgrade command", "images")


def variants(valid: bytes, bump, update=None) -> dict[str, bytes | str]:
    return webform.variants(valid, bump, update)

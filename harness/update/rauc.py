"""RAUC on the unit (kind `rauc`): the update framework installs a signed bundle into the
slot the unit is not running from and makes that slot the one its bootloader starts next.
The harness copies each bundle to the unit over SSH (update.bundle_dir) and runs `rauc
install` on the unit's shell: its exit status and error lines are RAUC's own outcome. After
an install the lab power-cycles the unit so that the new slot boots; the version is read
back over the shell, the booted slot from `rauc status`.

Afterwards the unit boots the slot it started from again (`rauc status mark-active other`,
a power cycle): A/B slots keep the starting firmware, unless an image the unit should have
refused overwrote it, which the channel then says. TC-UPD-01 has nothing to check here:
how bundles reach the unit in the field (a server, a USB stick, a web page) is not part of
this kind."""
from __future__ import annotations

import contextlib
import json
import time

from harness.errors import DeviceError
from harness.update import (install_over_shell, installs_what_reaches_it, need_power_cycle,
                            need_ssh, on_unit, raucb, refusal, swupdate)

BUNDLE = "hx-update.raucb"
BOOT_SECONDS = 120.0
SERVICE_WAIT = 20.0


def booted(device) -> str | None:
    """The slot RAUC says the unit booted (its bootname), None when it cannot tell. Right
    after a boot RAUC's service may not answer yet: asked again for at most SERVICE_WAIT."""
    end = time.monotonic() + SERVICE_WAIT
    while True:
        status, out = on_unit(device, "rauc status --output-format=json")
        try:
            if status == 0:
                return json.loads(out[out.index("{"):])["booted"]
        except (ValueError, KeyError, TypeError):
            return None
        if time.monotonic() > end:
            return None
        time.sleep(2)


def version(device) -> dict:
    return {**swupdate.version(device), "slot": booted(device)}


class Channel:
    """TC-UPD-02's offers, each a bundle installed over the unit's shell."""

    def __init__(self, device, lifecycle):
        self.device, self.lifecycle = device, lifecycle
        self.start = version(device)
        self.restored: dict | None = None

    def _boot_new_slot(self) -> None:
        self.lifecycle.act("power_cycle", timeout=BOOT_SECONDS)

    def upload(self, image: bytes) -> dict:
        status, said, r = install_over_shell(self.device, image, BUNDLE, "rauc install {image}")
        if status != 0:
            return refusal.judged("rauc", {**r, "outcome": "install failed",
                                           "errors": said[-4:]}, said, "refused")
        self._boot_new_slot()             # the installed slot runs after a reboot
        return {**r, "accepted": True, "outcome": "installed", "booted_slot": booted(self.device)}

    def restore(self) -> dict:
        """Boot the slot the unit started from, when it still holds the starting firmware."""
        was, now = self.start, version(self.device)
        if now["version"] == was["version"] and now["slot"] == was["slot"]:
            return {"back": True, "slot": now["slot"], "version": now["version"],
                    "how": "nothing to do"}
        if not now["slot"]:
            return {"back": False, "version": now["version"],
                    "why": "the booted slot is unreadable (rauc status)"}
        if now["slot"] == was["slot"]:
            return {"back": False, "slot": now["slot"], "version": now["version"],
                    "why": f"the starting firmware {was['version']} is in no slot any more: "
                           f"slot {was['slot']} now runs {now['version']}"}
        status, out = on_unit(self.device, "rauc status mark-active other")
        if status != 0:
            return {"back": False, "why": f"rauc status mark-active other: exit {status}: "
                                          f"{out.strip()[-200:]}"}
        self._boot_new_slot()
        after = version(self.device)
        back = after["version"] == was["version"] and after["slot"] == was["slot"]
        return {"back": back, "slot": after["slot"], "version": after["version"],
                "how": f"slot {was['slot']} marked active, power cycle",
                **({} if back else {"why": f"expected {was['version']} in slot {was['slot']}"})}


@contextlib.contextmanager
def channel(device, run_context, lifecycle):
    need_power_cycle(lifecycle, "RAUC's new slot runs")
    need_ssh(device, "a RAUC bundle")
    ch = Channel(device, lifecycle)
    if not ch.start["version"] or not ch.start["slot"]:
        raise DeviceError(f"the running version and booted slot are unreadable: {ch.start}")
    try:
        yield ch
    finally:
        try:
            ch.restored = ch.restore()
        except DeviceError as exc:
            ch.restored = {"back": False, "why": str(exc)}


def check_channel(device, evidence, run_context, lifecycle) -> None:
    installs_what_reaches_it("rauc", "RAUC", "bundles")


def variants(valid: bytes, bump, update=None) -> dict[str, bytes | str]:
    return raucb.variants(valid, bump)

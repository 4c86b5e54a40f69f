"""TC-UPD-02's way back for a kind without one of its own (harness.update.restore): the
lab's restore_firmware action, then the version read again. Logic alone, with stand-ins for
the lab and the unit; on the emulated units (`harness emulate recover`): the detection
matrix (router-webfw, router-swu)."""
from types import SimpleNamespace

import pytest

from harness import update
from harness.errors import DeviceError


class Lab:
    def __init__(self, has=True, fails=False, leaves="2.4.1"):
        self.has, self.fails, self.leaves, self.acted = has, fails, leaves, []
        self.running = "2.4.2"                  # the valid image was applied

    def can(self, action):
        return self.has and action == "restore_firmware"

    def act(self, action, timeout=60.0, **kw):
        self.acted.append(action)
        if self.fails:
            raise DeviceError("lab action restore_firmware failed (1): no TFTP answer")
        self.running = self.leaves
        return ""


@pytest.fixture
def unit(monkeypatch):
    lab = Lab()
    monkeypatch.setattr(update, "version", lambda device: {"version": lab.running})
    return lab


def test_back_on_the_starting_firmware_through_the_labs_action(unit):
    got = update.restore(None, unit, "2.4.1")
    assert unit.acted == ["restore_firmware"]
    assert got == {"back": True, "version": "2.4.1", "how": update.RESTORE}


def test_a_recovery_that_leaves_another_version_says_so(unit):
    unit.leaves = "2.3.0"
    got = update.restore(None, unit, "2.4.1")
    assert got["back"] is False and got["version"] == "2.3.0" and got["why"] == "expected 2.4.1"


def test_a_failed_recovery_is_recorded_not_hidden(unit):
    unit.fails = True
    got = update.restore(None, unit, "2.4.1")
    assert got["back"] is False and "no TFTP answer" in got["why"]


def test_without_the_action_the_unit_stays_on_the_valid_image(unit):
    unit.has = False
    got = update.restore(SimpleNamespace(), unit, "2.4.1")
    assert unit.acted == [] and got.startswith("no: ") and "restore_firmware" in got

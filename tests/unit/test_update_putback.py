"""TC-UPD-02 judges each image on the starting firmware: an image wrongly applied is undone
(the lab's restore_firmware here) before the next is offered, so a second flaw is seen too;
without a way back, a later refusal ("not newer" than the wrongly applied image) is marked
as proving nothing. Logic alone, with a stand-in unit, channel and lab; on the emulated
units: the detection matrix (router-webfw-nosig, router-rauc-downgrade, fw-router-open)."""
import importlib.util

import pytest

from harness import update
from harness.model.evidence import Evidence, Failed
from tests.conftest import REPO

IMAGES = {"tampered": b"t", "unsigned": b"u", "untrusted": b"x", "older": b"o", "valid": b"v"}


def _testcase():
    spec = importlib.util.spec_from_file_location("hx_test_update",
                                                  REPO / "testcases" / "test_update.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.test_update_integrity


class Unit:
    """Running 1.0; takes the valid image (1.1) and the ones its flaw lets through, as long
    as they are newer than what it runs; the lab's recovery puts 1.0 back."""

    def __init__(self, takes, restore=True):
        self.running, self.takes, self.recovery, self.acted = "1.0", takes, restore, []

    def upload(self, image):
        if (image == IMAGES["valid"] or image in self.takes) and self.running < "1.1":
            self.running = "1.1"
            return {"status": 200, "accepted": True}
        return {"status": 409 if self.running >= "1.1" else 403, "accepted": False}

    def can(self, action):
        return self.recovery and action == "restore_firmware"

    def act(self, action, timeout=60.0, **kw):
        self.acted.append(action)
        self.running = "1.0"


@pytest.fixture
def unit(monkeypatch):
    import contextlib
    box = {}

    @contextlib.contextmanager
    def channel(device, run_context, lifecycle):
        yield box["unit"]
    monkeypatch.setattr(update, "images", lambda device: dict(IMAGES))
    monkeypatch.setattr(update, "version", lambda device: {"version": box["unit"].running})
    monkeypatch.setattr(update, "channel", channel)

    def make(*takes, restore=True):
        box["unit"] = Unit({IMAGES[t] for t in takes}, restore)
        return box["unit"]
    return make


def _run(u):
    ev = Evidence()
    with pytest.raises(Failed) as failed:
        _testcase()(None, ev, None, u)
    return str(failed.value), {e["check"]: e["observed"] for e in ev.items}


def test_each_wrongly_applied_image_is_undone_so_the_next_flaw_is_seen_too(unit):
    u = unit("unsigned", "untrusted")
    reason, seen = _run(u)
    assert reason == ("unsigned image accepted (version 1.0 -> 1.1); untrusted image accepted "
                      "(version 1.0 -> 1.1)")
    assert seen["unsigned image"]["put_back"] == {"back": True, "version": "1.0",
                                                  "how": update.RESTORE}
    assert "decided" not in seen["untrusted image"] and seen["older image"]["status"] == 403
    assert seen["valid image (positive control)"]["version_after"] == "1.1"
    # two put-backs, and the last one after the valid image
    assert u.acted == ["restore_firmware"] * 3 and u.running == "1.0"


def test_without_a_way_back_a_later_refusal_proves_nothing(unit):
    u = unit("unsigned", "untrusted", restore=False)
    reason, seen = _run(u)
    assert reason == "unsigned image accepted (version 1.0 -> 1.1)"
    assert seen["unsigned image"]["put_back"].startswith("no: ")
    for later in ("untrusted", "older"):
        assert "proves nothing" in seen[f"{later} image"]["decided"], seen

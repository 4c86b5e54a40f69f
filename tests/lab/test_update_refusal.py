"""A failed install is the unit's refusal of the image only where the framework names a
check on the image. Shown on router-swu's real SWUpdate: with the unit's other slot made
unwritable, the vendor's valid image fails for that cause alone, and the harness does not
read it as a refusal; with the slot back, the same procedure refuses the tampered image
naming its hash (the control). (That the valid image is then applied is the matrix's
positive control on the same unit.)"""
import pytest

from harness import update
from harness.emulate.netns import STATE
from harness.runner.context import build_context
from harness.update import swupdate

pytestmark = pytest.mark.units("router-swu")


def test_a_failure_for_another_cause_is_no_refusal(emulated_lab, tmp_path):
    device = build_context([emulated_lab["router-swu"]], out=tmp_path / "out").devices[0]
    imgs = update.images(device)
    slot = STATE / "router-swu" / "slot-b"
    saved = slot.read_bytes()
    slot.unlink()
    slot.mkdir()                  # the raw handler cannot open its target: not the image
    try:
        broken = swupdate.upload(device, imgs["valid"])
    finally:
        slot.rmdir()
        slot.write_bytes(saved)
    assert broken["outcome"] == "FAILURE", broken
    assert broken["accepted"] is None and "named no check on the image" in broken["undecided"]
    tampered = swupdate.upload(device, imgs["tampered"])
    assert tampered["accepted"] is False and "HASH mismatch" in tampered["refused_by"], tampered
    assert swupdate.version(device)["version"] == "2.4.1"

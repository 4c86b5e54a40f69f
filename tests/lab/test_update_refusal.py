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
from harness.update import hawkbit, refusal, swupdate
from tests.lab.test_matrix_updates import SWUPDATE_WHY

pytestmark = pytest.mark.units("router-swu", "router-ota")


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


def test_the_pulling_units_own_log_names_each_check(emulated_lab, tmp_path):
    """router-ota's SWUpdate writes every line of each install to its log, whatever reached
    the update server (its forwarded log drops lines under load): after the matrix's
    TC-UPD-02 that log names the check that refused each image the harness derived. The
    profile's update.log_command reads it, as the hawkbit kind does for a failure whose
    reason the server did not hear, each deployment's lines apart (deployment_in_log)."""
    device = build_context([emulated_lab["router-ota"]], out=tmp_path / "out").devices[0]
    assert device.profile.update.log_command == "tail -n 300 var/log/swupdate.log"
    status, text = update.on_unit(device, "cat var/log/swupdate.log")
    assert status == 0, text[-500:]
    lines = text.splitlines()
    # each deployment's own lines name its own check (the matrix offered them in turn)
    named = [refusal.named_check("swupdate", hawkbit.deployment_in_log(lines, str(a)))
             for a in range(1, 9)]
    for variant, words in SWUPDATE_WHY.items():
        assert sum(words in (n or "") for n in named) == 1, (variant, named)

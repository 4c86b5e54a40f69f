"""A profile's firmware image beside the running unit (harness/firmware/join.py): router-3
runs compliant; given the image of a unit that stores its password as MD5-crypt, TC-STORE-01
FAILs from the image and says what the unit itself showed; given its own image, nothing
changes; an image that cannot be read changes nothing and says why. Two units given one
image with a fixed password hash FAIL TC-UNIQ-01 over the units; a service the image
starts that the scan did not see is stated as a disagreement."""
import dataclasses
import os
import re

import pytest

from harness.emulate import image
from harness.emulate.variants import BY_NAME
from tests.conftest import REPO, harness, load_run

pytestmark = pytest.mark.units("router-3", "router-4")


def _with_image(emulated_lab, tmp_path, name, img):
    text = open(emulated_lab[name]).read().replace(
        "extends: ../../types/", f"extends: {REPO}/device_profiles/types/")
    path = tmp_path / f"{name}-with-image.yaml"
    text = re.sub(r"^firmware_image: .*$", f"firmware_image: {img}", text, flags=re.M)
    assert f"firmware_image: {img}" in text
    path.write_text(text)
    return path


def _runs(emulated_lab, tmp_path, img, names, select):
    args = [x for n in names for x in ("--profile", _with_image(emulated_lab, tmp_path, n, img))]
    out = tmp_path / "out"
    proc = harness("run", *args, "-k", select, "--out", out, "--no-pdf")
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return {d["name"]: {r["test_id"]: r for r in d["results"]} for d in load_run(out)["devices"]}


def _run(emulated_lab, tmp_path, img):
    return _runs(emulated_lab, tmp_path, img, ["router-3"], "TC-STORE-01 or TC-CRED-01")[
        "router-3"]


def _image(tmp_path, name, *more_flaws):
    os.chmod(tmp_path, 0o711)
    v = dataclasses.replace(BY_NAME[name], flaws=BY_NAME[name].flaws | set(more_flaws))
    return image.build(v, tmp_path / f"{name}.sqfs", "squashfs")


def test_a_flaw_the_image_shows_fails_the_test_case_and_keeps_the_units_outcome(
        emulated_lab, tmp_path):
    res = _run(emulated_lab, tmp_path, _image(tmp_path, "router-plainstore"))
    store = res["TC-STORE-01"]
    assert store["verdict"] == "FAIL", store
    assert store["reason"].startswith("the firmware image (")
    assert "account admin: password stored as md5crypt" in store["reason"]
    assert "the unit itself: PASS" in store["reason"]
    assert res["TC-CRED-01"]["verdict"] == "PASS"
    seen = next(e["observed"] for e in res["TC-CRED-01"]["evidence"]
                if e["check"] == "firmware image")
    assert seen["findings"] == [] and len(seen["sha256"]) == 64


def test_its_own_image_changes_nothing_and_an_unreadable_one_says_why(emulated_lab, tmp_path):
    """router-3's own image (its admin account locked until provisioning) on router-3 and
    router-4: no verdict changes, TC-UNIQ-01 included; junk: nothing changes, said why."""
    both = _runs(emulated_lab, tmp_path, _image(tmp_path, "router-3"), ["router-3", "router-4"],
                 "TC-STORE-01 or TC-CRED-01 or TC-UNIQ-01")
    assert {t: r["verdict"] for t, r in both["router-3"].items()} == {
        "TC-STORE-01": "PASS", "TC-CRED-01": "PASS", "TC-UNIQ-01": "PASS"}
    assert both["router-4"]["TC-UNIQ-01"]["verdict"] == "PASS"
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(4096))
    other = tmp_path / "junk-run"
    other.mkdir()
    res = _run(emulated_lab, other, junk)
    assert res["TC-STORE-01"]["verdict"] == "PASS"
    seen = next(e["observed"] for e in res["TC-STORE-01"]["evidence"]
                if e["check"] == "firmware image")
    assert "no file system found" in seen["error"]


def test_one_image_with_a_fixed_password_on_two_units_fails_uniqueness(emulated_lab, tmp_path):
    """router-3 and router-4 (one model, unique passwords of their own) given one image
    whose admin account ships a fixed hash: TC-UNIQ-01 FAILs on both over the units, naming
    the other's image; given router-3's image (the account locked until provisioning) it
    PASSes (the test above). The image's telnetd, which the scan of router-3 did not see, is
    a stated disagreement beside TC-SURF-01's verdict."""
    flawed = _runs(emulated_lab, tmp_path, _image(tmp_path, "router-plainstore", "telnet"),
                   ["router-3", "router-4"], "TC-UNIQ-01 or TC-SURF-01")
    for me, other in (("router-3", "router-4"), ("router-4", "router-3")):
        uniq = flawed[me]["TC-UNIQ-01"]
        assert uniq["verdict"] == "FAIL", uniq
        assert f"ships the same fixed password hash as {other}'s (admin)" in uniq["reason"]
        assert "same password as" not in uniq["reason"]          # the units' own differ
    surf = flawed["router-3"]["TC-SURF-01"]
    assert surf["verdict"] == "FAIL" and "telnetd (telnet) starts at boot" in surf["reason"]
    assert "the unit itself: PASS" in surf["reason"]
    differ = next(e["observed"] for e in surf["evidence"]
                  if e["check"] == "image and unit disagree")
    assert any("telnetd" in x and "port 23" in x for x in differ), differ
